"""The flaky guard's rules: which checks get a second try, and how the retry's passes are merged into
the first grading (marked flaky, the first attempt kept in the evidence).
"""
from __future__ import annotations

from ..i18n import N_, WORDS, Msg, literal
from ..results import Result, add_notice, score_program, set_text, total
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
            set_text(r, "message", Msg(N_("flaky: {status} at first ({first}); passed when graded again in a fresh"
                                          " sandbox"), {"status": _word(c.status),
                                                        "first": first_message(c)}), first.lang or "en")
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
        add_notice(first, Msg(N_("flaky (failed, then passed in a fresh sandbox): {checks}"),
                              {"checks": ", ".join(flaky)}), first.lang or "en")
    return flaky


def first_message(c) -> Msg:
    """What the first attempt of a check said, as a message (its status word when it said nothing)."""
    if c.message_id:
        return Msg.from_json({"id": c.message_id, "params": c.message_params})
    return literal(c.message.strip()) if c.message.strip() else _word(c.status)


def _word(status) -> Msg:
    """A status as its word, a message (``fail`` -> 未通过 in Chinese)."""
    value = str(getattr(status, "value", status))
    return Msg(WORDS["status"].get(value, value))
