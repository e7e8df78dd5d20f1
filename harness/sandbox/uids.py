"""User ids for program runs: each run gets one that no earlier run on this machine had.

A uid is more than a permission: kernel keyrings, SysV IPC ownership and
RLIMIT_NPROC follow it, and some of that outlives a process.  So run uids
are never reused: they come from a counter shared by every grading process
of the machine (of the user, without root) under a file lock, handed out in
blocks so the lock is taken once per 256 runs.

As root the counter is kept in ``/var/lib/netgrade``; the range starts at
2,000,000 (far above the ids of real accounts) and would last 2 billion runs.
Without root, in a user namespace that maps the user's subordinate ids
(``/etc/subuid``; see userns.py), the range is the one the namespace maps
besides 0 (uids 1..65535 inside for the usual 65536 ids) and the counter is
kept in the user's cache folder (``$NETGRADE_CACHE`` or ``~/.cache/netgrade``),
where every namespace of that user finds the same file.  Only when a range is
used up (each grading process takes blocks of 256: some 65,000 runs in a
user's range of 65536, 2 billion as root) does the counter start again from
its first uid.
"""
from __future__ import annotations

import fcntl
import os
import threading

from .userns import IDENTITY_MAP
from .userns import uid_map

FIRST = 2_000_000
LAST = 2**31 - 2
BLOCK = 256
ROOT_STATE = "/var/lib/netgrade/next-uid"

_lock = threading.Lock()
_next = 0
_end = 0
_pid = 0


def in_user_namespace() -> bool:
    """True inside a user namespace made from an ordinary user's (not the machine's identity map)."""
    return uid_map() != IDENTITY_MAP


def uid_range() -> tuple[int, int]:
    """(first, last) of the uids runs get here: root's, or the widest extent a user namespace maps besides 0."""
    if not in_user_namespace():
        return FIRST, LAST
    extents = [(inside, inside + count - 1) for inside, _outside, count in uid_map() if inside > 0]
    if not extents:
        raise OSError("this user namespace maps no uid besides 0: runs cannot get uids of their own")
    return max(extents, key=lambda e: e[1] - e[0])


def state_file() -> str:
    """Where the counter is kept (``$NETGRADE_UID_STATE`` overrides)."""
    if os.environ.get("NETGRADE_UID_STATE"):
        return os.environ["NETGRADE_UID_STATE"]
    if not in_user_namespace():
        return ROOT_STATE
    from .python import cache_dir
    return str(cache_dir() / "next-uid")


def _take_block() -> tuple[int, int]:
    first, last = uid_range()
    block = min(BLOCK, last - first + 1)
    state = state_file()
    os.makedirs(os.path.dirname(state), mode=0o700, exist_ok=True)
    fd = os.open(state, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.pread(fd, 32, 0).strip()
        start = int(raw) if raw.isdigit() else first
        if start < first or start + block - 1 > last:
            start = first
        data = str(start + block).encode()
        os.pwrite(fd, data.ljust(32), 0)
        os.fsync(fd)
        return start, start + block
    finally:
        os.close(fd)


def next_uid() -> int:
    """A uid no run on this machine has had (a forked worker takes blocks of its own)."""
    global _next, _end, _pid
    with _lock:
        if _pid != os.getpid() or _next >= _end:
            _next, _end = _take_block()
            _pid = os.getpid()
        uid = _next
        _next += 1
        return uid
