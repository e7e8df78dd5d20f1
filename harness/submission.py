"""Loading a student's submission and finding its programs.

A submission is a folder, a ``.zip`` or a ``.tar.gz``/``.tgz``.  Archives are
unpacked into a private temporary folder; an entry that would land outside it
(``..``, an absolute path, a link pointing out, a device file) refuses the whole
archive with a message naming the entry.  Program files are matched by name,
case-insensitively, through the pack's aliases, anywhere in the tree (the
shallowest match wins).  A ``netgrade.toml`` in the submission, or ``--run``
on the command line, may name a file or replace the command of any program.
"""
from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import stat
import tarfile
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .i18n import N_, Msg
from .pack import Pack
from .verdicts import Presence

MAX_BYTES = 200 * 1024 * 1024
MAX_ENTRIES = 20000
SKIP_DIRS = {"__pycache__", ".git", ".svn", "node_modules", "__MACOSX", ".venv", "venv", ".idea", ".vscode"}
CONFIG_NAME = "netgrade.toml"
#: what a command template (netgrade.toml's ``run``, ``--run``, the pack's) may hold
TEMPLATE_FIELDS = ("python", "file", "port")
MAX_TEMPLATE = 4096


class SubmissionError(Exception):
    """A submission that cannot be graded at all; the message is one line."""


@dataclass
class Located:
    """Where one program of the pack was found, and how it is started."""

    id: str
    status: Presence
    file: str | None  # path relative to the submission root, POSIX style
    command: list[str] | None  # argv, run in ``cwd``
    cwd: str  # relative to the submission root ("." for the root)
    origin: str  # where the command came from: default, pack, netgrade.toml, --run
    note: str = ""
    stdin_prelude: tuple[str, ...] = ()
    #: the note's template and parameters (``note`` is its English), so a report can show it translated
    note_msg: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = Presence(self.status)
        if isinstance(self.note, Msg):
            self.note_msg, self.note = self.note.to_json(), str(self.note)

    def note_message(self) -> Msg:
        return Msg.from_json(self.note_msg) if self.note_msg else Msg(self.note)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "status": self.status, "file": self.file, "command": self.command,
            "cwd": self.cwd, "origin": self.origin, "note": self.note,
            "stdin_prelude": list(self.stdin_prelude), "note_msg": self.note_msg,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Located":
        d = dict(d)
        d["stdin_prelude"] = tuple(d.get("stdin_prelude", ()))
        return cls(**d)


@dataclass
class Submission:
    name: str  # shown in reports: the folder or archive name
    source: str  # the path the user gave
    root: Path  # the folder graded (inside a private temp dir for archives)
    digest: str  # sha256 of every file's path and content
    programs: dict[str, Located] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# ------------------------------------------------------------ unpacking

def _safe_relpath(name: str) -> PurePosixPath:
    """The entry's path if it stays inside the archive root, else raise."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise SubmissionError(f"archive entry {name!r} is an absolute path; refusing the archive")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        raise SubmissionError(f"archive entry {name!r} escapes the submission folder ('..'); refusing the archive")
    return PurePosixPath(*[p for p in parts if p not in ("", ".")]) if parts else PurePosixPath(".")


def _inside(target: PurePosixPath, link_dir: PurePosixPath) -> bool:
    depth = 0
    for part in (link_dir / target).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return not target.is_absolute()


def _unzip(path: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{path.name}: not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise SubmissionError(f"{path.name}: {len(infos)} entries; at most {MAX_ENTRIES} are accepted")
        if sum(i.file_size for i in infos) > MAX_BYTES:
            raise SubmissionError(f"{path.name}: unpacks to more than {MAX_BYTES // 2**20} MiB")
        for info in infos:
            rel = _safe_relpath(info.filename)
            mode = info.external_attr >> 16
            target = dest / rel
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8", "replace")
                if link.startswith("/") or not _inside(PurePosixPath(link), rel.parent):
                    raise SubmissionError(
                        f"archive entry {info.filename!r} is a link pointing outside the submission ({link!r}); refusing the archive")
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(link, target)
            elif info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)


def _untar(path: Path, dest: Path) -> None:
    try:
        tf = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise SubmissionError(f"{path.name}: not a readable tar archive ({exc})") from None
    with tf:
        members = tf.getmembers()
        if len(members) > MAX_ENTRIES:
            raise SubmissionError(f"{path.name}: {len(members)} entries; at most {MAX_ENTRIES} are accepted")
        if sum(m.size for m in members) > MAX_BYTES:
            raise SubmissionError(f"{path.name}: unpacks to more than {MAX_BYTES // 2**20} MiB")
        for m in members:
            _safe_relpath(m.name)  # our own, clearer message for the common cases
            if m.issym() and (m.linkname.startswith("/") or not _inside(PurePosixPath(m.linkname), PurePosixPath(m.name).parent)):
                raise SubmissionError(
                    f"archive entry {m.name!r} is a link pointing outside the submission ({m.linkname!r}); refusing the archive")
        try:
            tf.extractall(dest, filter="data")
        except tarfile.FilterError as exc:
            raise SubmissionError(f"archive entry refused: {exc}; refusing the archive") from None


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            h.update(str(p.relative_to(root)).encode("utf-8", "surrogateescape") + b"\0")
            if p.is_symlink():
                h.update(b"->" + os.readlink(p).encode("utf-8", "surrogateescape"))
            else:
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 16), b""):
                        h.update(chunk)
            h.update(b"\0")
    return h.hexdigest()


def open_submission(source: str | Path) -> Submission:
    """Unpack (if needed) and fingerprint a submission; programs are located later."""
    src = Path(source)
    if not src.exists():
        raise SubmissionError(f"{source}: no such file or folder")
    name = src.name
    tmp = None
    if src.is_dir():
        root = src.resolve()
    else:
        lower = name.lower()
        tmp = tempfile.TemporaryDirectory(prefix="netgrade-sub-")
        os.chmod(tmp.name, 0o700)
        root = Path(tmp.name) / "submission"
        root.mkdir()
        try:
            if lower.endswith(".zip"):
                _unzip(src, root)
                name = name[:-4]
            elif lower.endswith((".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")):
                _untar(src, root)
                for suffix in (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar"):
                    if lower.endswith(suffix):
                        name = name[: -len(suffix)]
                        break
            else:
                raise SubmissionError(f"{source}: not a folder, .zip or .tar.gz")
        except BaseException:
            tmp.cleanup()
            raise
    return Submission(name=name, source=str(source), root=root, digest=_digest(root), _tmp=tmp)


# ------------------------------------------------------------ locating

def _index(root: Path) -> dict[str, list[PurePosixPath]]:
    """Lower-cased file name -> relative paths, shallowest first."""
    found: dict[str, list[PurePosixPath]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for fn in filenames:
            rel = PurePosixPath(Path(dirpath, fn).relative_to(root).as_posix())
            found.setdefault(fn.lower(), []).append(rel)
    for paths in found.values():
        paths.sort(key=lambda p: (len(p.parts), str(p)))
    return found


def _load_config(root: Path) -> dict:
    path = root / CONFIG_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{CONFIG_NAME} in the submission is not valid TOML: {exc}") from None
    programs = data.get("programs", {})
    if not isinstance(programs, dict):
        raise SubmissionError(f"{CONFIG_NAME}: programs: must be a table")
    for pid, entry in programs.items():
        if not isinstance(entry, dict):
            raise SubmissionError(f"{CONFIG_NAME}: programs.{pid}: must be a table")
        for key in entry:
            if key not in ("file", "run", "stdin_prelude"):
                raise SubmissionError(f"{CONFIG_NAME}: programs.{pid}.{key}: unknown key (known: file, run, stdin_prelude)")
    return programs


def _within(root: Path, rel: PurePosixPath) -> bool:
    try:
        (root / rel).resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


_BRACE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\{")


def _fill(arg: str, values: dict[str, str]) -> str:
    """``arg`` with each ``{field}`` replaced; ``{{`` and ``}}`` are literal braces."""
    def one(m: re.Match) -> str:
        text = m.group(0)
        if text in ("{{", "}}"):  # a lone "}" is left as it is
            return text[0]
        name = m.group(1)
        if name in values:
            return values[name]
        fields = ", ".join(f"{{{f}}}" for f in TEMPLATE_FIELDS)
        if name is None:
            raise ValueError(f"a lone '{{' in {arg[:60]!r} (write {{{{ for a literal brace)")
        shown = text if len(text) <= 40 else text[:37] + "...}"
        raise ValueError(f"{shown}: only {fields} are filled in, as they are (no format spec or conversion)")
    return _BRACE.sub(one, arg)


def expand_command(template: str, file: str | None, port: int) -> list[str]:
    """Split a command line; ``{file}``, ``{port}`` and ``{python}`` are filled in.

    Nothing else is: a field with a format spec or a conversion
    (``{port:>99}``, ``{file!r}``), an unknown field, a template longer than
    ``MAX_TEMPLATE`` characters or one with control characters is refused
    with a ValueError that says why.
    """
    if len(template) > MAX_TEMPLATE:
        raise ValueError(f"{len(template)} characters; at most {MAX_TEMPLATE} are accepted")
    bad = next((c for c in template if ord(c) < 32 and c not in "\t\n\r"), None)
    if bad is not None:
        raise ValueError(f"it holds the control character {bad!r}")
    args = shlex.split(template)
    if not args:
        raise ValueError("it is empty")
    from .sandbox.python import program_python
    values = {"file": Path(file).name if file else "", "port": str(port), "python": program_python()}
    return [_fill(a, values) for a in args]


def locate(sub: Submission, pack: Pack, run_overrides: dict[str, str] | None = None) -> dict[str, Located]:
    """Find every program of the pack in the submission."""
    run_overrides = run_overrides or {}
    unknown = set(run_overrides) - set(pack.programs)
    if unknown:
        raise SubmissionError(f"--run names unknown program(s): {', '.join(sorted(unknown))} (see `netgrade list`)")
    index = _index(sub.root)
    config = _load_config(sub.root)
    unknown = set(config) - set(pack.programs)
    if unknown:
        raise SubmissionError(f"{CONFIG_NAME}: unknown program(s): {', '.join(sorted(unknown))}")
    located: dict[str, Located] = {}
    for pid, prog in pack.programs.items():
        cfg = config.get(pid, {})
        note: Msg | str = ""
        rel: PurePosixPath | None = None
        if "file" in cfg:
            cand = PurePosixPath(str(cfg["file"]))
            if cand.is_absolute() or ".." in cand.parts or not (sub.root / cand).is_file():
                note = Msg(N_("{config} names {file}, which is not a file inside the submission"),
                           {"config": CONFIG_NAME, "file": repr(cfg["file"])})
            else:
                rel = cand
        if rel is None and not note:
            for name in prog.names:
                paths = index.get(name.lower(), [])
                if paths:
                    rel = paths[0]
                    if name != prog.file:
                        note = Msg(N_("found as {path} (the sheet's name is {name})"),
                                   {"path": str(rel), "name": prog.file})
                    elif len(paths) > 1:
                        note = Msg(N_("{count} files named {name}; graded {path}"),
                                   {"count": len(paths), "name": prog.file, "path": str(rel)})
                    break
        if rel is not None and not _within(sub.root, rel):
            note = Msg(N_("{path} is a link pointing outside the submission; not graded"), {"path": str(rel)})
            rel = None
        template, origin = None, "default"
        if pid in run_overrides:
            template, origin = run_overrides[pid], "--run"
        elif "run" in cfg:
            template, origin = str(cfg["run"]), CONFIG_NAME
        elif prog.run:
            template, origin = prog.run, "pack"
        prelude = tuple(cfg.get("stdin_prelude", prog.stdin_prelude))
        file = str(rel) if rel is not None else None
        cwd = str(rel.parent) if rel is not None else "."
        if template is not None:
            try:
                command = expand_command(template, file, prog.port)
            except ValueError as exc:
                raise SubmissionError(f"{origin}: command for {pid} cannot be parsed: {exc}") from None
            located[pid] = Located(pid, Presence.FOUND, file, command, cwd, origin, note, prelude)
        elif rel is not None:
            from .sandbox.python import program_python
            located[pid] = Located(pid, Presence.FOUND, file, [program_python(), rel.name], cwd, "default", note, prelude)
        else:
            names = ", ".join(prog.names)
            located[pid] = Located(pid, Presence.MISSING, None, None, ".", "default",
                                   note or Msg(N_("no file named {names}"), {"names": names}), prelude)
    sub.programs = located
    return located
