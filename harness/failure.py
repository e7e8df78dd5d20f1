"""The exception a check fails by: the program did not do what the sheet says.

A bottom-layer module, so that the layers below the check API (peers that
find a program misbehaving, text helpers) can fail a check without importing
the check API above them.  Suites import both names from ``netgrade.checks``.
"""
from __future__ import annotations

from typing import NoReturn


class CheckFailure(AssertionError):
    """The program did not do what the sheet says."""


def fail(message: str) -> NoReturn:
    raise CheckFailure(message)
