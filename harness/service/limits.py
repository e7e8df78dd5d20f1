"""A course's limits (stored as JSON on the course; defaults in README.md, "The grading service").

``check_new_submission`` decides whether a student may submit now; a refusal
is a ``Refused`` with the HTTP status, a one-line reason and, where waiting
helps, the seconds to wait (``Retry-After``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from ..i18n import N_, MessageError, Msg

MB = 2**20


#: the refusal of a second submission while one waits or is graded (the limits', and the database's guard)
ALREADY_WAITING = Msg(N_("you already have a submission waiting or being graded: wait for its result"))


class Refused(MessageError):
    """Why a submission may not be made now (a page says it in its language; ``reason``, the API's JSON)."""

    def __init__(self, status: int, reason: str | Msg, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


@dataclass
class Limits:
    max_upload_bytes: int = 10 * MB      # the request body
    max_files: int = 200                 # files in one upload, and entries of an archive
    max_unpacked_bytes: int = 50 * MB    # an archive's content (zip bombs)
    cooldown_s: float = 60.0             # between two submissions of one student
    max_attempts: int | None = None      # graded submissions before the deadline (grader errors do not count)
    deadline: str | None = None          # ISO 8601 with a time zone
    after_deadline: str = "late"         # "late": accepted and marked late; "refuse": 403
    max_grader_tries: int = 3            # a grader failure is retried this often before it is recorded as error

    @classmethod
    def from_dict(cls, d: dict) -> "Limits":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        lim = cls(**d)
        lim.validate()
        return lim

    def validate(self) -> None:
        for name in ("max_upload_bytes", "max_files", "max_unpacked_bytes", "max_grader_tries"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.cooldown_s, (int, float)) or isinstance(self.cooldown_s, bool) or self.cooldown_s < 0:
            raise ValueError(f"cooldown_s must be a number >= 0, got {self.cooldown_s!r}")
        if self.max_attempts is not None and (not isinstance(self.max_attempts, int) or self.max_attempts < 1):
            raise ValueError(f"max_attempts must be a positive integer or null, got {self.max_attempts!r}")
        if self.after_deadline not in ("late", "refuse"):
            raise ValueError(f"after_deadline must be 'late' or 'refuse', got {self.after_deadline!r}")
        if self.deadline is not None:
            self.deadline_ts()

    def deadline_ts(self) -> float | None:
        if self.deadline is None:
            return None
        try:
            when = datetime.fromisoformat(self.deadline)
        except (TypeError, ValueError):
            raise ValueError(f"deadline must be ISO 8601 (2026-12-24T23:59:00+01:00), got {self.deadline!r}") from None
        if when.tzinfo is None:
            raise ValueError(f"deadline needs a time zone (…+00:00), got {self.deadline!r}")
        return when.timestamp()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_new_submission(lim: Limits, now: float, pending: bool, last_at: float | None, charged: int) -> bool:
    """Whether the new submission is late; raises Refused when it may not be made now.

    ``pending``: the student has a queued or running submission; ``last_at``: when the
    student last submitted (grader errors aside); ``charged``: graded attempts so far.
    """
    if pending:
        # refused rather than queued behind: the student's newer files would otherwise wait for a grading
        # of older ones that they no longer care about, and a refusal says at once what is going on
        raise Refused(409, ALREADY_WAITING)
    deadline = lim.deadline_ts()
    late = deadline is not None and now > deadline
    if late and lim.after_deadline == "refuse":
        raise Refused(403, Msg.of(N_("the deadline ({deadline}) has passed: submissions are closed"),
                                  deadline=lim.deadline))
    if lim.max_attempts is not None and charged >= lim.max_attempts:
        raise Refused(403, Msg.of(N_("all {count} attempts are used (grader errors did not count)"),
                                  count=lim.max_attempts))
    if last_at is not None and lim.cooldown_s > 0 and now - last_at < lim.cooldown_s:
        wait = lim.cooldown_s - (now - last_at)
        raise Refused(429, Msg.of(N_("cooldown: wait {wait} s before submitting again (one submission every"
                                     " {every} s)"), wait=f"{wait:.0f}", every=f"{lim.cooldown_s:g}"),
                      retry_after=wait)
    return late
