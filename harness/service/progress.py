"""A grading's progress into the database, as its checks finish, at most one write per interval.

The worker's grading reports every finished check (``grading.Options.progress``
through the batch's pipe); a 150-check pack finishes checks far faster than
anyone reads them, so ``ProgressWriter`` keeps only the newest state (the
count, and the list of finished checks for the waiting page) and one thread
commits it: at once for the first news (the total, known before any check
runs), then at most once per ``every_s``.  It waits for news (an event),
never sleeps a fixed time.  A write changes the submission only while this
worker's attempt holds its lease, and never lowers ``done``.
"""
from __future__ import annotations

import json
import threading

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .logs import log
from .models import Submission
from .queue import Job, _held


class ProgressWriter:
    def __init__(self, engine: Engine, job: Job, owner: str, every_s: float = 0.5) -> None:
        self.engine, self.job, self.owner, self.every_s = engine, job, owner, every_s
        self._lock = threading.Lock()
        self._news = threading.Event()
        self._closed = threading.Event()
        self._done = 0
        self._total: int | None = None
        self._checks: list[list[str]] = []  # [program/check, status] in the order they finished
        self._written: tuple[int, int | None] = (0, None)
        self.writes = 0  # transactions committed (the rate limit's measure)
        self.events = 0
        self._thread = threading.Thread(target=self._run, name="netgrade-progress-writer", daemon=True)
        self._thread.start()

    def __call__(self, event: dict) -> None:
        """A progress event from the grading (``total``, ``check``, ``retry``); other kinds are ignored."""
        kind = event.get("event")
        with self._lock:
            self.events += 1
            if kind == "total" and isinstance(event.get("total"), int):
                self._total = event["total"] if self._total is None else self._total
            elif kind == "check" and isinstance(event.get("done"), int):
                self._done = max(self._done, event["done"])
                if isinstance(event.get("check"), str):
                    self._checks.append([event["check"][:200], str(event.get("status", ""))[:16]])
                if self._total is None and isinstance(event.get("total"), int):
                    self._total = event["total"]
            else:
                return
        self._news.set()

    def _run(self) -> None:
        while True:
            self._news.wait()
            if self._closed.is_set():
                return
            self._news.clear()
            self._write()
            # the rate limit: the next write no sooner than every_s from now (or at close)
            if self._closed.wait(self.every_s):
                return

    def _write(self) -> None:
        with self._lock:
            now = (self._done, self._total)
            checks = json.dumps(self._checks)
        if now == self._written:
            return
        done, total = now
        values: dict = {"done_checks": done, "finished_checks": checks}
        if total is not None:
            values["total_checks"] = max(total, done)
        try:
            with Session(self.engine) as s, s.begin():
                s.execute(update(Submission).where(*_held(self.job, self.owner),
                                                   Submission.done_checks <= done).values(**values))
            self._written = now
            self.writes += 1
        except Exception as exc:  # noqa: BLE001 - the database is away: the next news tries again
            log("progress-failed", submission=self.job.id, error=f"{type(exc).__name__}: {exc}"[:300])

    def close(self, flush: bool = False) -> None:
        """Stop the writer (``flush``: write the newest count first, e.g. before the retry)."""
        self._closed.set()
        self._news.set()
        self._thread.join(timeout=10)
        if flush:
            self._write()
