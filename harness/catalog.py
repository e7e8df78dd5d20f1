"""The catalog of checks: what the suites contain, without running anything."""
from __future__ import annotations

import os

import pytest

from .checks import CheckInfo


class _Gather:
    def __init__(self) -> None:
        self.checks: list[CheckInfo] = []
        self.errors: list[str] = []

    def pytest_collection_modifyitems(self, items):
        for item in items:
            info = CheckInfo.of(item)
            if info is not None:
                self.checks.append(info)

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr)[-400:])


def collect_checks(extra_suites: list[str] | None = None) -> list[CheckInfo]:
    """Every check of our suites and ``extra_suites``, in collection order (RuntimeError if one cannot load)."""
    from .grading import run_pytest, suites_dir

    g = _Gather()
    code, output = run_pytest([suites_dir(), *(extra_suites or []), "--collect-only", "-q", "-p", "netgrade.plugin",
                "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", suites_dir(),
                "-o", "python_files=test_*.py"], [g])
    if g.errors:
        raise RuntimeError("suite files could not be loaded: " + " | ".join(g.errors))
    if code == pytest.ExitCode.USAGE_ERROR:  # e.g. two checks of a program sharing an id
        raise RuntimeError(" ".join(line.removeprefix("ERROR: ") for line in output.strip().splitlines()[-1:]))
    return g.checks


def unknown_check_keys(pack, extra_suites: list[str] | None = None) -> str | None:
    """One line naming the pack file and key of a ``[checks."PROGRAM/ID"]`` that no suite defines, or None.

    The default pack's own keys are checked by the tests; only an instructor's
    pack that names checks costs a collection of the suites (about a second).
    """
    from .pack import load

    default = load().checks
    named = [key for key in pack.checks if key not in default or extra_suites]
    if not named:
        return None
    known: dict[str, list[str]] = {}
    for c in collect_checks(extra_suites):
        known.setdefault(c.program, []).append(c.id)
    for key in named:
        program, _, cid = key.partition("/")
        if cid in known.get(program, ()):
            continue
        source = "default" if key in default else pack.sources[-1]
        have = f"{program} has: {', '.join(known[program])}" if program in known else f"no program {program!r}"
        return f"{source}: checks.{key}: no such check ({have}; see `netgrade list`)"
    return None
