"""The durable queue: the ``submissions`` table is the queue, and every change is one conditional UPDATE.

- ``claim``: the oldest queued submission becomes ``running`` under a lease
  (owner, expiry); ``attempt`` counts the leases handed out.
- ``heartbeat``: the owner extends its lease; False when the lease was lost.
- ``finish``: the result of attempt N is written only while attempt N holds
  the lease, and at most once (unique (submission, attempt)): a late or
  duplicate write changes nothing.
- ``reap``: expired leases go back to the queue (a worker that died mid-grading);
  a submission whose gradings keep dying ends as a grader error, never stuck.
- ``release``: a stopping worker gives its submission back, untouched.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import db
from .models import Grading, Submission

#: leases handed out for one submission before it is recorded as a grader error (each ended in a lost lease)
MAX_LEASES = 5


class _Stale(Exception):
    pass


@dataclass
class Job:
    id: str
    course_id: int
    student_pk: int
    attempt: int
    filename: str


def _exists(engine: Engine, *where) -> bool:
    """Whether a submission matches, read without taking the write lock (``db.reading``)."""
    with Session(db.reading(engine)) as s, s.begin():
        return s.execute(select(Submission.id).where(*where).limit(1)).first() is not None


def claim(engine: Engine, owner: str, lease_s: float) -> Job | None:
    """Lease the oldest queued submission to ``owner``, or None when the queue is empty.

    An empty queue is seen by a read that takes no write lock (an idle worker polls twice a second)."""
    if not _exists(engine, Submission.state == "queued"):
        return None
    for _ in range(20):  # another worker may take the same candidate first: try the next
        with Session(engine) as s, s.begin():
            cand = s.execute(select(Submission.id).where(Submission.state == "queued")
                             .order_by(Submission.queued_at, Submission.id).limit(1)).scalar()
            if cand is None:
                return None
            now = time.time()
            res = s.execute(update(Submission)
                            .where(Submission.id == cand, Submission.state == "queued")
                            .values(state="running", attempt=Submission.attempt + 1, lease_owner=owner,
                                    lease_expires=now + lease_s, started_at=now, done_checks=0,
                                    finished_checks=None))
            if res.rowcount != 1:
                continue
            sub = s.get(Submission, cand)
            return Job(sub.id, sub.course_id, sub.student_pk, sub.attempt, sub.filename)
    return None


def _held(job: Job, owner: str):
    return (Submission.id == job.id, Submission.attempt == job.attempt, Submission.state == "running",
            Submission.lease_owner == owner)


def heartbeat(engine: Engine, job: Job, owner: str, lease_s: float) -> bool:
    with Session(engine) as s, s.begin():
        res = s.execute(update(Submission).where(*_held(job, owner))
                        .values(lease_expires=time.time() + lease_s))
        return res.rowcount == 1


def finish(engine: Engine, job: Job, owner: str, result: dict, seconds: float, max_grader_tries: int,
           pack_version: int | None = None) -> str:
    """Record attempt ``job.attempt``'s result.  Returns the new state, or "stale" when nothing changed.

    A graded result ends the submission (``done``, charged as an attempt).  A
    grader error goes back to the queue while tries are left, then ends as
    ``failed`` with the error: neither costs the student an attempt.
    ``pack_version``: the course's pack version the grading used, recorded with it.
    """
    status = "graded" if result.get("status") == "graded" else "error"
    now = time.time()
    try:
        with Session(engine) as s, s.begin():
            sub = s.execute(select(Submission).where(*_held(job, owner)).with_for_update()).scalar()
            if sub is None:
                return "stale"
            s.add(Grading(submission_id=job.id, attempt=job.attempt, status=status,
                          result=json.dumps(result, ensure_ascii=False), worker=owner, seconds=round(seconds, 3),
                          created_at=now, pack_version=pack_version))
            s.flush()  # the unique (submission, attempt) guard, before the submission changes
            values: dict = {"lease_owner": None, "lease_expires": None}
            if status == "graded":
                values.update(state="done", status="graded", charged=True, finished_at=now,
                              score=result.get("score"), max_score=result.get("max_score"),
                              runner=result.get("runner"), message=result.get("message", ""),
                              result_attempt=job.attempt, done_checks=_checks(result), total_checks=_checks(result),
                              pack_version=pack_version)
            elif sub.grader_errors + 1 < max_grader_tries:
                values.update(state="queued", grader_errors=sub.grader_errors + 1, queued_at=sub.queued_at,
                              message=f"grader error (will be retried): {result.get('message', '')}"[:2000])
            else:
                values.update(state="failed", status="error", charged=False, finished_at=now,
                              grader_errors=sub.grader_errors + 1, score=None, max_score=None,
                              runner=result.get("runner"), result_attempt=job.attempt, pack_version=pack_version,
                              message=f"grader error (costs no attempt): {result.get('message', '')}"[:2000])
            res = s.execute(update(Submission).where(*_held(job, owner)).values(**values))
            if res.rowcount != 1:
                raise _Stale()
            return values["state"]
    except (IntegrityError, _Stale):
        return "stale"


def _checks(result: dict) -> int:
    return sum(len(p.get("checks", [])) for p in result.get("programs", []))


def release(engine: Engine, job: Job, owner: str) -> bool:
    """Give the submission back to the queue (a stopping worker): the next lease grades it."""
    with Session(engine) as s, s.begin():
        res = s.execute(update(Submission).where(*_held(job, owner))
                        .values(state="queued", lease_owner=None, lease_expires=None))
        return res.rowcount == 1


def reap(engine: Engine, now: float | None = None) -> list[str]:
    """Requeue submissions whose lease expired; return their ids."""
    now = time.time() if now is None else now
    out: list[str] = []
    if not _exists(engine, Submission.state == "running", Submission.lease_expires < now):
        return out
    with Session(engine) as s, s.begin():
        rows = s.execute(select(Submission.id, Submission.attempt, Submission.lease_owner)
                         .where(Submission.state == "running", Submission.lease_expires < now)).all()
        for sid, attempt, owner in rows:
            cond = (Submission.id == sid, Submission.attempt == attempt, Submission.state == "running",
                    Submission.lease_expires < now)
            if attempt >= MAX_LEASES:
                values = dict(state="failed", status="error", charged=False, finished_at=now, lease_owner=None,
                              lease_expires=None, message=f"grader error (costs no attempt): {attempt} gradings "
                                                          "ended without a result (the worker died)")
            else:
                values = dict(state="queued", lease_owner=None, lease_expires=None,
                              message=f"requeued: the lease of {owner} expired")
            if s.execute(update(Submission).where(*cond).values(**values)).rowcount == 1:
                out.append(sid)
    return out


def position(s: Session, sub: Submission) -> int | None:
    """1 for the next one to be graded; None when not queued."""
    if sub.state != "queued":
        return None
    ahead = s.execute(select(func.count()).select_from(Submission).where(
        Submission.state == "queued",
        (Submission.queued_at < sub.queued_at)
        | ((Submission.queued_at == sub.queued_at) & (Submission.id < sub.id)))).scalar()
    return int(ahead) + 1
