"""Memo files: what one check of a grading run leaves for the later ones, so that a program that hangs
costs seconds in each later check, not the full wait (a server that never listened, a client that
reached no peer).  Each is a file beside the run's work folders, outside any program's reach, shared
by every check (and pytest worker) of one grading run; it goes with the run's temporary folder.
"""
from __future__ import annotations

import contextlib
import os

#: a server that kept running without listening (its text: the check's message)
NOT_LISTENING = "not-listening"
#: a client that reached no peer in a check it failed
NO_CONTACT = "no-contact"


def memo_path(workbase: str, kind: str, program_id: str) -> str:
    """The memo ``kind`` of ``program_id`` for the grading run whose work folders are in ``workbase``."""
    return os.path.join(os.path.dirname(workbase), f"{kind}.{program_id}")


def has_memo(workbase: str, kind: str, program_id: str) -> bool:
    return os.path.exists(memo_path(workbase, kind, program_id))


def leave_memo(workbase: str, kind: str, program_id: str, text: str = "") -> None:
    """Write the memo; best effort (a memo that cannot be written only costs the later checks time)."""
    with contextlib.suppress(OSError), open(memo_path(workbase, kind, program_id), "w") as f:
        f.write(text)
