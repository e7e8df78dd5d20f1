"""A run's work folder, as the grader reaches it: through file descriptors it opened itself.

The program owns its work folder and may put anything there: symbolic links
to ``/root``, a parent folder renamed and replaced by a link, hard links,
FIFOs.  The grader runs with more rights than the program (root, outside
the sandbox), so it never resolves a path string inside that folder.  A
:class:`WorkFolder` holds a directory fd opened when the folder was made,
before the program started, and every later access goes through
:func:`open_beneath`: ``openat2`` with ``RESOLVE_BENEATH |
RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV``, so no link
is followed on the way and nothing outside the folder can be reached (where
``openat2`` is missing, each component is opened with ``O_NOFOLLOW``
relative to the last, which gives the same guarantee).

With root, the folder is a **detached tmpfs** (``fsopen``/``fsmount``): a
file system of its own with the pack's size limit, attached nowhere on the
machine.  The grader fills it through its fd, the launcher moves it to
``/work`` inside the run's new root, and it disappears with the last fd and
the run's mount namespace: a full disk costs the program its own writes
(``ENOSPC``), never the machine's disk, and nothing is left behind whatever
happens to the grader.  Without root (or on a kernel without the new mount
API) it is a plain folder under the grading run's temporary folder.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import struct
import tempfile
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# system call numbers shared by x86_64 and aarch64 (the unified table from 424 on)
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT, SYS_OPENAT2 = 428, 429, 430, 431, 432, 437
FSOPEN_CLOEXEC, FSMOUNT_CLOEXEC = 0x1, 0x1
FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 1, 6
MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x2, 0x4
RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH = 0x01, 0x02, 0x04, 0x08
_RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY

_openat2_works: bool | None = None


def _syscall(nr: int, *args) -> int:
    ret = _libc.syscall(nr, *args)
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(ret)


def _openat2(dir_fd: int, path: str, flags: int, mode: int = 0) -> int:
    how = struct.pack("QQQ", flags, mode, _RESOLVE)
    buf = ctypes.create_string_buffer(how, len(how))
    return _syscall(SYS_OPENAT2, ctypes.c_int(dir_fd), ctypes.c_char_p(os.fsencode(path)), buf,
                    ctypes.c_size_t(len(how)))


def _components(rel: str) -> list[str]:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise OSError(errno.EXDEV, f"{rel!r} leaves the folder")
    return parts


def open_beneath(dir_fd: int, rel: str, flags: int, mode: int = 0o600) -> int:
    """Open ``rel`` inside the folder open as ``dir_fd`` without following any link.

    ``ELOOP`` when a component is a symbolic link; ``EXDEV`` for a path that
    would leave the folder.
    """
    global _openat2_works
    parts = _components(rel)
    if not parts:
        return os.open(".", flags | os.O_CLOEXEC, dir_fd=dir_fd)
    if _openat2_works is not False:
        try:
            fd = _openat2(dir_fd, "/".join(parts), flags | os.O_CLOEXEC, mode if flags & os.O_CREAT else 0)
            _openat2_works = True
            return fd
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            _openat2_works = False
    fds = []
    try:
        cur = dir_fd
        for part in parts[:-1]:
            cur = os.open(part, DIR_FLAGS, dir_fd=cur)
            fds.append(cur)
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=cur)
    finally:
        for fd in fds:
            os.close(fd)


def _detached_tmpfs(size_mb: int, mode: str) -> int:
    """A tmpfs attached nowhere: its mount fd (needs CAP_SYS_ADMIN and Linux 5.2)."""
    fs = _syscall(SYS_FSOPEN, b"tmpfs", FSOPEN_CLOEXEC)
    try:
        for key, value in (("size", f"{size_mb}m"), ("mode", mode)):
            _syscall(SYS_FSCONFIG, fs, FSCONFIG_SET_STRING, key.encode(), value.encode(), 0)
        _syscall(SYS_FSCONFIG, fs, FSCONFIG_CMD_CREATE, None, None, 0)
        return _syscall(SYS_FSMOUNT, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
    finally:
        os.close(fs)


_tmpfs_works: bool | None = None


class WorkFolder:
    """One run's work folder: ``fd`` is the folder itself; ``mount_fd`` the detached tmpfs to hand over."""

    def __init__(self, fd: int, path: str | None, mount_fd: int | None = None, cwd: str = ".") -> None:
        self.fd = fd
        self.path = path  # on this machine, for a plain folder (None for a detached tmpfs)
        self.mount_fd = mount_fd  # the detached tmpfs, for the launcher to move into the run's root
        self.cwd = cwd  # the program's working folder, relative to the work folder

    @classmethod
    def make(cls, base: str, size_mb: int, uid: int | None, detached: bool) -> "WorkFolder":
        """A new, empty work folder owned by ``uid``: a detached tmpfs where possible."""
        global _tmpfs_works
        if detached and _tmpfs_works is not False:
            try:
                mount_fd = _detached_tmpfs(size_mb, "0755")
                _tmpfs_works = True
            except OSError:
                _tmpfs_works = False
            else:
                fd = os.open(".", DIR_FLAGS, dir_fd=mount_fd)
                if uid is not None:
                    os.fchown(fd, uid, uid)
                return cls(fd, None, mount_fd)
        path = tempfile.mkdtemp(prefix="run-", dir=base)
        fd = os.open(path, DIR_FLAGS)
        if uid is not None:
            os.fchown(fd, uid, uid)
        return cls(fd, path)

    # ---------------------------------------------------------- filling it (before the program runs)
    def copy_in(self, source: str | os.PathLike, uid: int | None) -> None:
        """Copy the grader's folder ``source`` into the work folder (links copied as links)."""
        src = Path(source)

        def copy_dir(sdir: Path, dfd: int) -> None:
            for entry in os.scandir(sdir):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(entry.path), entry.name, dir_fd=dfd)
                    self._own(entry.name, dfd, uid)
                elif stat.S_ISDIR(st.st_mode):
                    os.mkdir(entry.name, 0o755, dir_fd=dfd)
                    sub = os.open(entry.name, DIR_FLAGS, dir_fd=dfd)
                    try:
                        if uid is not None:
                            os.fchown(sub, uid, uid)
                        copy_dir(Path(entry.path), sub)
                    finally:
                        os.close(sub)
                elif stat.S_ISREG(st.st_mode):
                    self._write(dfd, entry.name, Path(entry.path).read_bytes(), st.st_mode & 0o755 | 0o600, uid)

        copy_dir(src, self.fd)

    def add(self, name: str, data: bytes, uid: int | None) -> None:
        """Put the file ``name`` (folders created as needed) into the work folder."""
        parts = _components(name)
        dfd = os.dup(self.fd)
        try:
            for part in parts[:-1]:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=dfd)
                    if uid is not None:
                        os.chown(part, uid, uid, dir_fd=dfd, follow_symlinks=False)
                nxt = os.open(part, DIR_FLAGS, dir_fd=dfd)
                os.close(dfd)
                dfd = nxt
            self._write(dfd, parts[-1], data, 0o644, uid)
        finally:
            os.close(dfd)

    @staticmethod
    def _own(name: str, dfd: int, uid: int | None) -> None:
        if uid is not None:
            os.chown(name, uid, uid, dir_fd=dfd, follow_symlinks=False)

    def _write(self, dfd: int, name: str, data: bytes, mode: int, uid: int | None) -> None:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dfd)
        try:
            _write_all(fd, data)
            if uid is not None:
                os.fchown(fd, uid, uid)
        finally:
            os.close(fd)

    # ---------------------------------------------------------- reading it (while or after the program runs)
    def open(self, rel: str, flags: int = FILE_FLAGS) -> int:
        """An fd for ``rel`` (relative to the program's working folder), no link followed."""
        return open_beneath(self.fd, os.path.join(self.cwd, rel) if rel else self.cwd, flags)

    def at(self, cwd: str) -> "WorkFolder":
        """The same folder, seen from the program's working folder ``cwd``."""
        return WorkFolder(self.fd, self.path, self.mount_fd, cwd)

    def close(self) -> None:
        for fd in (self.fd, self.mount_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self.path is not None:
            import shutil
            shutil.rmtree(self.path, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
