"""How long each check took the last time it ran on this machine: the order its checks start in.

With forks (forking.py) as many checks run at once as there are slots; the
grading ends when its longest checks do, so those should start first (the
longest-first rule of scheduling).  A check's own duration is only known once
it has run, so each grading leaves its checks' durations in the user's cache
folder and the next grading reads them; a check never seen yet is expected to
take its family's typical time.  Only the order depends on this file: a
missing, stale or broken one changes no verdict.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from .atomicfile import atomic_write
from .results import Result
from .verdicts import Status

FILE = "check-seconds.json"
#: seconds a check of a family takes (what the references' checks took): what a check never graded here is
#: expected to take, and what sizes a Docker grading's workers (``grading.selection_jobs``); a family's checks
#: wait on a program's timers (a TFTP retransmission, a framing program's slow writer) or are short (UDP, TCP)
FAMILY_S = {"tftp": 1.0, "framing": 0.5}
OTHER_S = 0.3
#: at most this many checks are remembered (a pack has about 150; instructors add their own)
MAX_CHECKS = 2000


def _path() -> Path:
    from .sandbox.python import cache_dir
    return cache_dir() / FILE


def load() -> dict[str, float]:
    """Check key -> seconds it took when last graded here ({} when nothing is known)."""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(_path().read_text("utf-8"))
        if isinstance(data, dict):
            return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}
    return {}


def family_s(family: str) -> float:
    """Seconds a check of ``family`` is expected to take, before any was graded here."""
    return FAMILY_S.get(family, OTHER_S)


def expected_s(known: dict[str, float], key: str, family: str) -> float:
    return known.get(key, family_s(family))


def remember(result: Result) -> None:
    """Keep the durations of ``result``'s checks that ran (best effort: a cache folder that cannot be
    written costs only the order)."""
    known = load()
    for p in result.programs:
        for c in p.checks:
            # a check under a millisecond is kept as 0.0 (a fast machine's trivial check); only a check that
            # did not run (skipped, or the grader's error before it started) leaves what was known
            ran = c.status != Status.SKIP and (c.duration_s or c.status != Status.ERROR)
            if ran:
                known[f"{p.id}/{c.id}"] = round(float(c.duration_s or 0.0), 3)
    if len(known) > MAX_CHECKS:
        known = dict(list(known.items())[-MAX_CHECKS:])
    with contextlib.suppress(OSError):
        atomic_write(_path(), json.dumps(known, sort_keys=True))
