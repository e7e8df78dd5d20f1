"""Finding a batch's submissions: every entry of the batch folder (a subfolder or a .zip/.tar.gz/.tgz)
is one, named by its entry name.  An LMS download is split into such a folder first (netgrade.lms).
"""
from __future__ import annotations

from pathlib import Path

from .model import BatchError, Entry

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")


def entry_name(filename: str) -> str:
    lower = filename.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return filename


def discover(directory: str | Path, exclude: tuple[Path, ...] = ()) -> tuple[list[Entry], list[str]]:
    """The submissions in ``directory`` and the entries left out (with why)."""
    d = Path(directory)
    if not d.is_dir():
        raise BatchError(f"{directory}: not a folder")
    excluded = {p.resolve() for p in exclude}
    entries: list[Entry] = []
    skipped: list[str] = []
    for p in sorted(d.iterdir(), key=lambda p: p.name):
        if p.name.startswith(".") or p.resolve() in excluded:
            continue
        if p.is_dir() or (p.is_file() and p.name.lower().endswith(ARCHIVE_SUFFIXES)):
            entries.append(Entry(entry_name(p.name), str(p)))
        else:
            skipped.append(f"{p.name}: not a folder, .zip, .tar.gz or .tgz")
    # alice/ beside alice.zip: both keep their full entry names
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.name] = counts.get(e.name, 0) + 1
    for e in entries:
        if counts[e.name] > 1:
            e.name = Path(e.path).name
    return entries, skipped
