"""The vocabulary of suite files: ``@check`` and ``fail``.

A check is a pytest test function decorated with ``@check(program, level,
title)``.  The level is the sheet's (must / should / extra).  A check fails by
raising :class:`CheckFailure` (``fail(...)`` or a plain ``assert``): its
message says what was expected and what was seen.  Any other exception is a
grader error, reported as such, never as the student's fault.
"""
from __future__ import annotations

from typing import Any, Callable, NoReturn

import pytest

from .pack import LEVELS


class CheckFailure(AssertionError):
    """The program did not do what the sheet says."""


def fail(message: str) -> NoReturn:
    raise CheckFailure(message)


def check_id(func_name: str, program: str) -> str:
    name = func_name.removeprefix("test_")
    prefix = program.replace("-", "_") + "_"
    name = name.removeprefix(prefix)
    return name.replace("_", "-")


def check(program: str, level: str, title: str, *, id: str | None = None, sheet: str | None = None,
          hint: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test function as a check of ``program`` at ``level``.

    ``title`` is the sheet's line in a few words; ``sheet`` points into the
    notes (``"001 §3.1.3"``); ``hint`` is what a student should look at when
    the check fails.  A level that is not the sheet's raises ValueError
    (in ``check_mark``) when the suite is imported.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        cid = id or check_id(func.__name__, program)
        return check_mark(program, level, title, cid, sheet=sheet, hint=hint)(func)

    return decorate


def check_mark(program: str, level: str, title: str, id: str, *, sheet: str | None = None,
               hint: str | None = None) -> pytest.MarkDecorator:
    """The mark behind ``@check``: for checks made per program with ``pytest.param(..., marks=...)``."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    return pytest.mark.netgrade(program=program, level=level, title=title, id=id, sheet=sheet or "", hint=hint or "")
