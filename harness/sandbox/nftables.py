"""nftables commands through libnftables, in the calling thread's network namespace.

The library behind the `nft` command (Debian's libnftables1, which the nftables
package depends on) takes the same command text.  Called in-process it costs
no fork and exec of `nsenter` and `nft` per change: a client's port redirect
is set up and read back once per check, about 170 times a pack, and the two
processes each time cost more than the rest of the check's own set-up.

The kernel applies a command to the namespace of the thread that opens the
netlink socket, so a caller enters the namespace first (``NetNS.entered``) and
each command gets a context of its own, made and freed there.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading

#: ``enum nft_output_flags`` in libnftables.h: JSON output, as `nft -j`
OUTPUT_JSON = 1 << 4

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_missing: str | None = None


def _load() -> ctypes.CDLL | None:
    global _lib, _missing
    with _lock:
        if _lib is not None or _missing is not None:
            return _lib
        name = ctypes.util.find_library("nftables") or "libnftables.so.1"
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError as exc:
            _missing = f"libnftables cannot be loaded ({exc})"
            return None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.restype = None
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        for fn in (lib.nft_ctx_buffer_output, lib.nft_ctx_buffer_error):
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.c_void_p]
        for fn in (lib.nft_ctx_get_output_buffer, lib.nft_ctx_get_error_buffer):
            fn.restype = ctypes.c_char_p
            fn.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.restype = None
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        _lib = lib
        return lib


def missing() -> str | None:
    """Why the library cannot be used here (then callers run the `nft` command), or None."""
    _load()
    return _missing


def run(commands: str, json_output: bool = False) -> tuple[int, str, str]:
    """Run nft ``commands`` (the text `nft -f -` reads) in the calling thread's network namespace.

    Returns (status, output, error text) as the command would: status 0 when every command was applied.
    Raises RuntimeError when the library is not there (``missing``).
    """
    lib = _load()
    if lib is None:
        raise RuntimeError(_missing or "libnftables is not available")
    ctx = lib.nft_ctx_new(0)
    if not ctx:
        return 1, "", "nft_ctx_new failed"
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        if json_output:
            lib.nft_ctx_output_set_flags(ctx, OUTPUT_JSON)
        status = lib.nft_run_cmd_from_buffer(ctx, commands.encode("utf-8"))
        out = lib.nft_ctx_get_output_buffer(ctx) or b""
        err = lib.nft_ctx_get_error_buffer(ctx) or b""
        return (0 if status == 0 else 1), out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    finally:
        lib.nft_ctx_free(ctx)
