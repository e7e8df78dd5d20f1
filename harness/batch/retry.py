"""The flaky guard's rules: which checks get a second try, and how the retry's passes are merged into
the first grading (marked flaky, the first attempt kept in the evidence).
"""
from __future__ import annotations

from ..results import Result, score_program, total
from ..verdicts import ProgramStatus, Status


def failing_checks(result: Result) -> list[str]:
    """The checks worth a second try: failed or in error, of programs that were found."""
    keys = []
    for p in result.programs:
        if p.status == ProgramStatus.MISSING:
            continue
        for c in p.checks:
            if c.status.went_wrong:
                keys.append(f"{p.id}/{c.id}")
    return keys


def merge_retry(first: Result, retry: Result) -> list[str]:
    """Mark checks that failed in ``first`` and passed in ``retry`` as flaky (in place).

    A flaky check takes the retry's verdict and score; its message tells what
    the first attempt saw.  Returns the flaky check keys.
    """
    again = {(p.id, c.id): c for p in retry.programs for c in p.checks}
    flaky = []
    for p in first.programs:
        changed = False
        for i, c in enumerate(p.checks):
            r = again.get((p.id, c.id))
            if r is None or not c.status.went_wrong or r.status != Status.PASS:
                continue
            r.flaky = True
            first_msg = c.message.strip() or c.status
            r.message = (f"flaky: {c.status} at first ({first_msg}); passed when graded again in a fresh sandbox")
            r.evidence = dict(r.evidence)
            r.evidence["first_attempt"] = {"status": c.status, "message": c.message, "evidence": c.evidence}
            p.checks[i] = r
            flaky.append(f"{p.id}/{c.id}")
            changed = True
        if changed:
            if p.status == ProgramStatus.ERROR and not any(c.status == Status.ERROR for c in p.checks):
                p.status = ProgramStatus.GRADED
            score_program(p)
    if flaky:
        total(first)
        first.notices.append("flaky (failed, then passed in a fresh sandbox): " + ", ".join(flaky))
    return flaky
