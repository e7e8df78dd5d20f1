"""Files a program leaves in its work folder: found by what changed, read without trusting them.

Real submissions save their output under names of their own (``test.txt``,
``new_<name>``, ``download.bin``) more often than under the sheet's.  A check
that only looked for the sheet's name would fail the content of every such
program; here the saved file is found instead as what is new or changed in
the program's work folder since it started, whatever its name, and the
sheet's name is left to a check of its own.

What changed: :class:`Baseline` notes, right after the program starts, every
entry of its work folder (``lstat``: kind, inode, size, modification time)
and every name that was there on purpose (the submission's own files and the
files a check put in).  Afterwards an entry is *changed* when its name was
not there on purpose, or it was not there when noted, or its stamp differs.
The first rule does not depend on timing, so a file created in the
program's first instant is still new; the stamps catch a file that existed
and was rewritten (a download over a stale copy, a file opened for append).
Directories that are new are looked into one level deep.

Reading: a program may leave a symbolic link to anywhere (``/etc/shadow``),
replace one of its folders by a link while the grader looks, or leave a hard
link to a file it cannot read itself, and the grader may run with more rights
than the program.  Nothing here follows a link or starts from a path string
the program could change: a run's folder is reached through the directory fd
its :class:`~netgrade.sandbox.workfolder.WorkFolder` opened before the program
started, and every entry below it with ``openat2(RESOLVE_BENEATH |
RESOLVE_NO_SYMLINKS)``; only a regular file with a single link is read, and
never more than the caller's limit (the expected size and a margin).
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from .i18n import N_, Msg
from .sandbox.workfolder import DIR_FLAGS as _DIR_FLAGS
from .sandbox.workfolder import FILE_FLAGS as _FILE_FLAGS
from .sandbox.workfolder import WorkFolder, open_beneath

#: a run's work folder (reached through its fd), or a folder of the grader's own
Folder = Union[WorkFolder, str, os.PathLike]


@dataclass(frozen=True)
class Stamp:
    """One entry of a folder as ``lstat`` sees it (a link is never followed)."""

    kind: str  # "file" | "link" | "dir" | "other"
    ino: int
    size: int
    mtime_ns: int


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


@contextlib.contextmanager
def _open_dir(path: str | os.PathLike, dir_fd: int | None = None):
    fd = os.open(path, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def _open_folder(folder: Folder, rel: str = "", flags: int = _DIR_FLAGS) -> int:
    """An fd for ``rel`` inside ``folder``, no link followed anywhere below the folder itself."""
    if isinstance(folder, WorkFolder):
        return folder.open(rel, flags)
    base = os.open(folder, _DIR_FLAGS)
    try:
        return open_beneath(base, rel, flags) if rel else os.dup(base)
    finally:
        os.close(base)


def _scan_fd(fd: int, prefix: str, depth: int, out: dict[str, Stamp]) -> None:
    for name in os.listdir(fd):
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            continue  # gone meanwhile
        key = prefix + name
        out[key] = Stamp(_kind(st.st_mode), st.st_ino, st.st_size, st.st_mtime_ns)
        if depth > 0 and stat.S_ISDIR(st.st_mode):
            with contextlib.suppress(OSError), _open_dir(name, fd) as sub:
                _scan_fd(sub, key + "/", depth - 1, out)


def scan(folder: Folder, depth: int = 1) -> dict[str, Stamp]:
    """Every entry of ``folder`` (and of its sub-folders, ``depth`` levels down), by relative name."""
    out: dict[str, Stamp] = {}
    try:
        fd = _open_folder(folder)
    except OSError:
        return out  # no folder (or a link where the folder should be): nothing to report
    try:
        _scan_fd(fd, "", depth, out)
    except OSError:
        pass
    finally:
        os.close(fd)
    return out


@dataclass
class Found:
    """A file the program left, and what could safely be read of it."""

    name: str  # relative to the work folder, "/" between levels
    kind: str
    size: int  # as lstat says (for a link: the length of its target text)
    data: bytes | None = None  # None: not read (see ``why``)
    truncated: bool = False  # only the first ``limit`` bytes were read
    why: str = ""  # why ``data`` is None: "is a symbolic link to ...", "cannot be opened: ..."
    others: list[str] = field(default_factory=list)  # the other new or changed names

    def describe(self) -> str:
        """A few words for a message: "'out.bin' (513 bytes)", "'x', which is a symbolic link to '/etc/shadow', not followed"."""
        if self.data is None:
            return Msg(N_("{name}, which {why}"), {"name": repr(self.name), "why": self.why})
        return Msg(N_("{name} ({size} bytes)"), {"name": repr(self.name), "size": self.size})


def read_capped(folder: Folder, name: str, limit: int) -> tuple[bytes | None, int, str]:
    """At most ``limit`` bytes of ``folder/name`` without following any link.

    Returns (data, size, why): data None with the reason when the entry is a
    link (or lies behind one), not a regular file, a hard link, or cannot be
    opened.  ``size`` is the file's size, which may exceed ``len(data)``.
    """
    try:
        fd = _open_folder(folder, name, _FILE_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symbolic link on the way, or the entry itself
            return None, 0, _link_text(folder, name)
        if exc.errno == errno.EXDEV:
            return None, 0, Msg(N_("lies outside the work folder, not read"))
        return None, 0, Msg(N_("cannot be opened: {error}"), {"error": exc.strerror})
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, st.st_size, Msg(N_("is not a regular file (a {kind}), not read"), {"kind": _kind(st.st_mode)})
        if st.st_nlink != 1:
            return None, st.st_size, Msg(N_("is a hard link shared with another file, not read"))
        chunks, got = [], 0
        while got < limit:
            chunk = os.read(fd, min(1 << 20, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks), max(st.st_size, got), ""
    except OSError as exc:
        return None, 0, Msg(N_("cannot be read: {error}"), {"error": exc.strerror})
    finally:
        os.close(fd)


def _link_text(folder: Folder, name: str) -> str:
    parent, _, leaf = name.rpartition("/")
    try:
        dfd = _open_folder(folder, parent)
    except OSError:
        return Msg(N_("lies behind a symbolic link, not followed"))
    try:
        target = os.readlink(leaf, dir_fd=dfd)
    except OSError:
        return Msg(N_("is a symbolic link, not followed"))
    finally:
        os.close(dfd)
    return Msg(N_("is a symbolic link to {target}, not followed"), {"target": repr(target)})


class Baseline:
    """A work folder as a program found it; :meth:`changed` says what the program did to it."""

    def __init__(self, folder: Folder, expected: Iterable[str] = (), depth: int = 1) -> None:
        self.folder = folder
        self.depth = depth
        self.expected = set(expected)
        self.stamps = scan(self.folder, depth)

    @classmethod
    def of_run(cls, run, source: str | os.PathLike | None = None,
               files: dict[str, bytes] | None = None) -> Baseline:
        """The baseline of a just-started ``run``: ``source`` is the folder its work folder was copied
        from (the submission's, at the program's cwd), ``files`` what the check added."""
        expected: set[str] = set()
        if source is not None:
            expected.update(scan(source, 1))
        for name in files or {}:
            parts = Path(name).parts
            expected.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        return cls(run.work, expected)

    def changed(self) -> dict[str, Stamp]:
        """Entries new or changed since the baseline (directories themselves left out)."""
        now = scan(self.folder, self.depth)
        out = {}
        for name, st in now.items():
            if st.kind == "dir":
                continue
            before = self.stamps.get(name)
            if name not in self.expected or before is None or before != st:
                out[name] = st
        return out

    def find(self, prefer: Iterable[str] = (), want: bytes | None = None, margin: int = 65536,
             limit: int | None = None) -> Found | None:
        """The file the program saved: the first of ``prefer`` that changed, else the changed file
        whose bytes are ``want``, else the changed regular file with the most bytes.

        At most ``limit`` bytes are read (default: ``len(want) + margin``).
        """
        changed = self.changed()
        if not changed:
            return None
        if limit is None:
            limit = (len(want) if want is not None else 0) + margin
        reads: dict[str, tuple[bytes | None, int, str]] = {}

        def read(name: str) -> tuple[bytes | None, int, str]:
            if name not in reads:
                reads[name] = read_capped(self.folder, name, limit)
            return reads[name]

        pick = next((n for n in prefer if n in changed), None)
        if pick is None and want is not None:
            pick = next((n for n in sorted(changed) if changed[n].kind == "file" and changed[n].size == len(want)
                         and read(n)[0] == want), None)
        if pick is None:
            files = [n for n in changed if changed[n].kind == "file"]
            pool = files or list(changed)
            pick = max(sorted(pool), key=lambda n: changed[n].size)
        data, size, why = read(pick)
        st = changed[pick]
        found = Found(pick, st.kind, size or st.size, data, why=why,
                      others=sorted(n for n in changed if n != pick))
        if data is not None and found.size > len(data):
            found.truncated = True
        return found
