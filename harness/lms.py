"""Splitting a learning-management system's bulk download into one submission per student.

Both systems put every student's files into one zip and tell them apart by
name prefixes:

- Canvas ("Download Submissions"): loose files named
  ``<lastfirst>_<user id>_<submission id>_<original name>``, with ``LATE``
  after the student's name for a late submission
  (``doejane_LATE_12345_67890_udp_send.py``).  Canvas adds ``-1``, ``-2``...
  to the original name of a file submitted again (``udp_send-1.py``); we take
  it off when the plain name is one of the pack's program files, so the
  program is found.
- Moodle ("Download all submissions"): a folder per student and submission
  plugin, ``<Full Name>_<participant id>_assignsubmission_file[_]/...``, with
  the student's files (and folders) inside; with "download submissions in
  folders" off, loose files ``<Full Name>_<id>_assignsubmission_file_<name>``.
  Online-text entries (``assignsubmission_onlinetext``) hold no program and
  are left out.

A student who uploaded an archive (the usual "zip of my folder") gets it
unpacked into their folder, with the same safety rules as any submission.
The split writes ``<dest>/<student>_<id>/`` folders and returns what it found;
entries it cannot attribute to a student are reported, never guessed.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .submission import SKIP_DIRS, SubmissionError, open_submission

LAYOUTS = ("canvas", "moodle")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")

# lastfirst[_LATE]_userid[_submissionid]_name; the submission id is absent for
# some entry kinds, and a name may start with digits, so user id is required.
CANVAS_RE = re.compile(r"^(?P<student>[^_/]+?)(?P<late>_LATE)?_(?P<uid>\d+)(?:_(?P<sid>\d+))?_(?P<file>.+)$")
MOODLE_DIR_RE = re.compile(r"^(?P<student>.+)_(?P<uid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
MOODLE_FILE_RE = re.compile(r"^(?P<student>.+)_(?P<uid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")
RESUBMITTED_RE = re.compile(r"^(?P<stem>.+)-\d+(?P<ext>\.[^.]+)$")


class LayoutError(Exception):
    """The export cannot be split; the message is one line."""


@dataclass
class Student:
    name: str  # the submission's name: "<student>_<id>", safe as a folder name
    student: str
    id: str
    late: bool = False
    files: list[str] = field(default_factory=list)  # as written under the folder
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"student": self.student, "id": self.id, "late": self.late, "files": list(self.files),
                "notes": list(self.notes)}


@dataclass
class Split:
    students: list[Student]
    skipped: list[str]  # entries that belong to no student, with the reason


def _safe_component(text: str) -> str:
    text = text.replace("/", "_").replace("\\", "_").replace("\0", "_").strip()
    return text if text not in ("", ".", "..") else "_"


def _is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def _strip_archive_suffix(name: str) -> str:
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _walk_files(root: Path, exclude: frozenset[Path] = frozenset()):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and Path(dirpath, d).resolve() not in exclude)
        for fn in sorted(filenames):
            p = Path(dirpath, fn)
            if not p.is_symlink():
                yield p


def _place(src: Path, target_dir: Path, rel: str, student: Student, known: set[str]) -> None:
    """Copy one of the student's files; unpack it when it is an archive."""
    rel_path = Path(*[_safe_component(p) for p in Path(rel).parts])
    if _is_archive(src.name):
        try:
            sub = open_submission(src)
        except SubmissionError as exc:
            student.notes.append(f"{rel}: {exc}")
            return
        try:
            # the folder takes the archive's own name (without the LMS prefix)
            folder = rel_path.parent / _strip_archive_suffix(rel_path.name)
            shutil.copytree(sub.root, target_dir / folder, symlinks=True, dirs_exist_ok=True)
            student.files.append(f"{folder}/ (unpacked from {rel})")
        finally:
            sub.cleanup()
        return
    m = RESUBMITTED_RE.match(rel_path.name)
    if m and (m["stem"] + m["ext"]).lower() in known and not (target_dir / rel_path.parent / (m["stem"] + m["ext"])).exists():
        rel_path = rel_path.parent / (m["stem"] + m["ext"])
        student.notes.append(f"{rel} graded as {rel_path} (the LMS renamed a resubmitted file)")
    dest = target_dir / rel_path
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    student.files.append(str(rel_path))


def _student(students: dict[str, Student], student: str, uid: str) -> Student:
    name = _safe_component(f"{student}_{uid}")
    if name not in students:
        students[name] = Student(name=name, student=student, id=uid)
    return students[name]


def _split_canvas(root: Path, dest: Path, known: set[str], exclude: frozenset[Path]) -> Split:
    students: dict[str, Student] = {}
    skipped = []
    for p in _walk_files(root, exclude):
        rel = p.relative_to(root)
        m = CANVAS_RE.match(p.name)
        if len(rel.parts) != 1 or not m:
            skipped.append(f"{rel.as_posix()}: not named <student>_<id>_<submission>_<file> (a Canvas download?)")
            continue
        st = _student(students, m["student"], m["uid"])
        st.late = st.late or bool(m["late"])
        _place(p, dest / st.name, m["file"], st, known)
    return Split(sorted(students.values(), key=lambda s: s.name), skipped)


def _split_moodle(root: Path, dest: Path, known: set[str], exclude: frozenset[Path]) -> Split:
    students: dict[str, Student] = {}
    skipped = []
    # the bulk zip may hold one folder around everything; look through it
    entries = [e for e in root.iterdir() if e.name not in SKIP_DIRS]
    if len(entries) == 1 and entries[0].is_dir() and not MOODLE_DIR_RE.match(entries[0].name):
        root = entries[0]
    for entry in sorted(root.iterdir()):
        if entry.name in SKIP_DIRS or entry.is_symlink() or entry.resolve() in exclude:
            continue
        if entry.is_dir():
            m = MOODLE_DIR_RE.match(entry.name)
            if not m:
                skipped.append(f"{entry.name}/: not named <Full Name>_<id>_assignsubmission_<plugin> (a Moodle download?)")
                continue
            if m["plugin"] != "file":
                skipped.append(f"{entry.name}/: {m['plugin']} entries hold no program files")
                continue
            st = _student(students, m["student"], m["uid"])
            for p in _walk_files(entry):
                _place(p, dest / st.name, p.relative_to(entry).as_posix(), st, known)
        else:
            m = MOODLE_FILE_RE.match(entry.name)
            if not m:
                skipped.append(f"{entry.name}: not named <Full Name>_<id>_assignsubmission_<plugin>_<file> (a Moodle download?)")
                continue
            if m["plugin"] != "file":
                skipped.append(f"{entry.name}: {m['plugin']} entries hold no program files")
                continue
            st = _student(students, m["student"], m["uid"])
            _place(entry, dest / st.name, m["file"], st, known)
    return Split(sorted(students.values(), key=lambda s: s.name), skipped)


def split_export(source: str | Path, layout: str, dest: str | Path, known_names: set[str] | None = None,
                 exclude: tuple[Path, ...] = ()) -> Split:
    """Split a bulk download (the zip, or the folder it was unpacked into) into ``dest/<student>_<id>/``.

    ``dest`` is emptied first: it mirrors the download, so a student removed
    from it does not linger.  ``known_names`` are the pack's program file
    names (lower case), used to undo the LMS's resubmission renaming;
    ``exclude`` folders (the batch's output, when it lies inside the download)
    are not read.
    """
    if layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r} (choose from {', '.join(LAYOUTS)})")
    src = Path(source)
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    known = {n.lower() for n in (known_names or set())}
    skip = frozenset(Path(p).resolve() for p in (*exclude, dest))
    opened = None
    if src.is_dir():
        root = src
    else:
        try:
            opened = open_submission(src)  # the same safe unpacking as a student's archive
        except SubmissionError as exc:
            raise LayoutError(str(exc)) from None
        root = opened.root
    try:
        split = (_split_canvas(root, dest, known, skip) if layout == "canvas"
                 else _split_moodle(root, dest, known, skip))
    finally:
        if opened is not None:
            opened.cleanup()
    if not split.students:
        raise LayoutError(f"{source}: no {layout} submissions found"
                          + (f" ({split.skipped[0]})" if split.skipped else ""))
    return split
