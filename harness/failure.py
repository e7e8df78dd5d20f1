"""The exception a check fails by: the program did not do what the sheet says.

A bottom-layer module, so that the layers below the check API (peers that
find a program misbehaving, text helpers) can fail a check without importing
the check API above them.  Suites import both names from ``netgrade.checks``.

A failure carries its message as a :class:`~netgrade.i18n.Msg` (the English
template, a gettext msgid, and its parameters), so the report renders it in
the grading language: ``fail(N_("expected ACK #{block}; got {seen}"),
block=1, seen=r.describe())``.
"""
from __future__ import annotations

from typing import Any, NoReturn

from .i18n import Msg, message


class CheckFailure(AssertionError):
    """The program did not do what the sheet says; ``message`` is the Msg (``str()`` is its English; not ``msg``, which pytest reads for asserts)."""

    def __init__(self, msg: Any = "", **params: Any) -> None:
        self.message = Msg(msg, params) if params else message(msg)
        super().__init__(str(self.message))


def fail(msg: Any, **params: Any) -> NoReturn:
    """Fail the check with ``msg`` (a template marked with ``N_`` and its ``params``, or a :class:`Msg`)."""
    raise CheckFailure(msg, **params)
