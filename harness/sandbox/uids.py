"""User ids for program runs: each run gets one that no earlier run on this machine had.

A uid is more than a permission: kernel keyrings, SysV IPC ownership and
RLIMIT_NPROC follow it, and some of that outlives a process.  So run uids
are never reused: they come from a counter kept in ``/var/lib/netgrade``
(root's, where the sandbox gives runs uids at all), shared by every grading
process of the machine under a file lock, handed out in blocks so the lock is
taken once per 256 runs.  The range starts at 2,000,000 (far above the ids
of real accounts) and would last 2 billion runs.
"""
from __future__ import annotations

import fcntl
import os
import threading

FIRST = 2_000_000
LAST = 2**31 - 2
BLOCK = 256
STATE = os.environ.get("NETGRADE_UID_STATE", "/var/lib/netgrade/next-uid")

_lock = threading.Lock()
_next = 0
_end = 0
_pid = 0


def _take_block() -> int:
    os.makedirs(os.path.dirname(STATE), mode=0o700, exist_ok=True)
    fd = os.open(STATE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.pread(fd, 32, 0).strip()
        start = int(raw) if raw.isdigit() else FIRST
        if start + BLOCK > LAST:
            start = FIRST
        data = str(start + BLOCK).encode()
        os.pwrite(fd, data.ljust(32), 0)
        os.fsync(fd)
        return start
    finally:
        os.close(fd)


def next_uid() -> int:
    """A uid no run on this machine has had (a forked worker takes blocks of its own)."""
    global _next, _end, _pid
    with _lock:
        if _pid != os.getpid() or _next >= _end:
            _next = _take_block()
            _end, _pid = _next + BLOCK, os.getpid()
        uid = _next
        _next += 1
        return uid
