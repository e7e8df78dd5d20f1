"""The words of a verdict: a check's status, a program's and a run's, the sheet's levels.

Each is an ``enum.StrEnum``, so a member is its word: ``Status.PASS ==
"pass"``, ``str(Status.PASS) == "pass"``, and JSON, the report templates and
the pack read and write the words they always did (``netgrade.result/1`` is
unchanged).  Code compares and produces members, never bare strings; a word
read from a file becomes a member through the enum (``Status("pass")``), and
a word that is not one raises ValueError there.
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A check's verdict."""

    PASS = "pass"
    FAIL = "fail"  # the program did not do what the sheet asks
    ERROR = "error"  # the grader could not grade the check: never the student's fault
    SKIP = "skip"  # not run (the program is missing, or the sandbox lacks what it needs)

    @property
    def went_wrong(self) -> bool:
        """A fail or an error: what a report opens, hints at and a batch grades again."""
        return self in (Status.FAIL, Status.ERROR)


class ProgramStatus(StrEnum):
    """How a program of the pack was graded."""

    GRADED = "graded"
    MISSING = "missing"  # not found in the submission: its checks are skipped
    ERROR = "error"  # a check of it ended in a grader error


class RunStatus(StrEnum):
    """How a grading run went (``Result.status``)."""

    GRADED = "graded"
    ERROR = "error"  # the grader itself failed; the message says why


class Presence(StrEnum):
    """Whether a program of the pack was found in the submission (``submission.Located``)."""

    FOUND = "found"
    MISSING = "missing"


class Level(StrEnum):
    """The sheet's level of a line: must, should, extra."""

    MUST = "must"
    SHOULD = "should"
    EXTRA = "extra"

    @property
    def counts(self) -> bool:
        """Must and should decide the exit status; extra only adds points."""
        return self in (Level.MUST, Level.SHOULD)
