"""A grading worker: ``python -m netgrade.service.worker`` (``netgrade serve`` starts ``--workers`` of them).

It leases the oldest queued submission, grades it through the batch's
executor (``grader``), keeps the lease alive with a heartbeat, and writes the
result for its attempt.  SIGTERM (or the death of the ``netgrade serve`` that
started it): no new lease; the running grading may finish within the grace
period, else it is stopped and its submission goes back to the queue.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import db, grader, queue
from .limits import Limits
from .logs import log
from .models import Course, Student, Upload, Worker
from .progress import ProgressWriter


class WorkerLoop:
    def __init__(self, url: str, name: str, runner: str, lease_s: float, grace_s: float, parent: int | None,
                 timeout: float, jobs: int | None, dask: str | None, worker_argv: list[str] | None,
                 poll_s: float = 0.5, progress_s: float = 0.5) -> None:
        self.engine = db.connect(url)
        self.name = name
        self.lease_s = lease_s
        self.grace_s = grace_s
        self.parent = parent
        self.timeout = timeout
        self.jobs = jobs
        self.poll_s = poll_s
        self.progress_s = progress_s
        self.worker_argv = worker_argv
        self.stop = threading.Event()
        self.stop_at: float | None = None
        self.runner, self.runner_why = grader.pick_runner(runner)
        self.dask = None
        if dask:
            from distributed import Client
            self.dask = Client(dask, timeout=30, set_as_default=False)

    # ---------------------------------------------------------------- lifecycle
    def request_stop(self, why: str) -> None:
        if not self.stop.is_set():
            self.stop_at = time.monotonic()
            self.stop.set()
            log("worker-stopping", worker=self.name, why=why, grace_s=self.grace_s)

    def _parent_gone(self) -> bool:
        return self.parent is not None and os.getppid() != self.parent

    def _seen(self, current: str | None, stopped: bool = False) -> None:
        with Session(self.engine) as s, s.begin():
            w = s.get(Worker, self.name)
            now = time.time()
            if w is None:
                s.add(Worker(id=self.name, host=socket.gethostname(), pid=os.getpid(), runner=self.runner,
                             started_at=now, last_seen=now, current=current, stopped=stopped))
            else:
                w.last_seen, w.current, w.stopped = now, current, stopped

    def _wait_for_schema(self, timeout: float = 300) -> None:
        """A worker started beside the service waits for the service's migration (it never migrates)."""
        head = db.head_revision()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if db.current_revision(self.engine) == head:
                    return
                why = "the schema is not migrated yet"
            except Exception as exc:  # noqa: BLE001 - the database is not up yet
                why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if time.monotonic() > deadline:
                raise SystemExit(f"netgrade worker: the database is not ready after {timeout:g} s: {why}")
            log("worker-waiting", worker=self.name, why=why)
            self.stop.wait(2)  # polled: a database offers no event for "migrated"
            if self.stop.is_set():
                raise SystemExit(0)

    def run(self) -> int:
        self._wait_for_schema()
        self._seen(None)
        log("worker-started", worker=self.name, runner=self.runner, why=self.runner_why, lease_s=self.lease_s)
        last_reap = 0.0
        last_seen = time.monotonic()
        try:
            while not self.stop.is_set():
                if self._parent_gone():
                    self.request_stop("netgrade serve is gone")
                    break
                try:
                    if time.monotonic() - last_reap >= max(0.5, self.lease_s / 3):
                        for sid in queue.reap(self.engine):
                            log("requeued", submission=sid, why="lease expired", by=self.name)
                        last_reap = time.monotonic()
                    job = queue.claim(self.engine, self.name, self.lease_s)
                except OperationalError as exc:  # the database restarts: wait for it, lose nothing
                    log("database-unavailable", worker=self.name, error=str(exc).splitlines()[0][:300])
                    self.stop.wait(2)
                    continue
                if job is None:
                    if time.monotonic() - last_seen >= 2:
                        self._seen(None)
                        last_seen = time.monotonic()
                    self.stop.wait(self.poll_s)  # poll the queue (the database is the queue)
                    continue
                try:
                    self.grade(job)
                except Exception as exc:  # noqa: BLE001 - its lease expires and the reaper requeues it
                    log("worker-error", worker=self.name, submission=job.id, error=f"{type(exc).__name__}: {exc}")
        finally:
            try:
                self._seen(None, stopped=True)
            except Exception:  # noqa: BLE001 - the database went away: nothing left to record
                pass
            if self.dask is not None:
                self.dask.close()
            log("worker-stopped", worker=self.name)
        return 0

    # ---------------------------------------------------------------- one grading
    def _load(self, job: queue.Job) -> tuple[Course, Student, bytes]:
        with Session(db.reading(self.engine)) as s:
            course = s.get(Course, job.course_id)
            student = s.get(Student, job.student_pk)
            data = s.get(Upload, job.id).data
            s.expunge_all()
        return course, student, data

    def grade(self, job: queue.Job) -> None:
        registry = grader.new_registry()
        lost = threading.Event()
        finished = threading.Event()
        course, student, data = self._load(job)
        limits = Limits.from_dict(json.loads(course.limits or "{}"))
        log("grading", submission=job.id, attempt=job.attempt, worker=self.name, student=student.student_id)
        self._seen(job.id)

        def beat() -> None:
            interval = max(0.2, self.lease_s / 3)
            while not finished.wait(interval):
                if self._parent_gone():
                    self.request_stop("netgrade serve is gone")
                if self.stop.is_set() and time.monotonic() - (self.stop_at or 0) >= self.grace_s:
                    grader.stop_all(registry)  # past the grace period: stop it, the submission is released
                    return
                try:
                    ok = queue.heartbeat(self.engine, job, self.name, self.lease_s)
                    self._seen(job.id)
                except Exception as exc:  # noqa: BLE001 - the database is unreachable: try again next beat
                    log("heartbeat-failed", submission=job.id, error=f"{type(exc).__name__}: {exc}")
                    continue
                if not ok:  # reaped (this worker was too slow to beat): another lease grades it
                    lost.set()
                    grader.stop_all(registry)
                    return

        hb = threading.Thread(target=beat, name="netgrade-heartbeat", daemon=True)
        hb.start()
        tmp = tempfile.mkdtemp(prefix="netgrade-serve-")
        started = time.monotonic()
        progress = ProgressWriter(self.engine, job, self.name, self.progress_s)
        try:
            name = f"{student.student_id}-{job.id[:8]}"
            path = os.path.join(tmp, job.filename)
            Path(path).write_bytes(data)
            pack_file = None
            if course.pack_text:
                pack_file = os.path.join(tmp, "pack.toml")
                Path(pack_file).write_text(course.pack_text, "utf-8")
            programs = json.loads(course.programs or "[]")
            # the course's runner when it names one, else this worker's choice (auto: docker when it can)
            runner = course.runner if course.runner in ("local", "docker") else self.runner
            if self.dask is not None:
                task = grader.task_for(name, None, data, job.filename, None, course.pack_text, programs,
                                       runner, self.timeout, None)
                outcome = grader.grade_dask(self.dask, task, lambda: lost.is_set() or (
                    self.stop.is_set() and time.monotonic() - (self.stop_at or 0) >= self.grace_s))
            else:
                task = grader.task_for(name, path, None, None, pack_file, None, programs, runner,
                                       self.timeout, self.jobs, self.worker_argv)
                outcome = grader.grade_local(task, registry, progress)
            result = outcome["result"]
            executor = outcome.get("worker")  # the Dask worker that graded it
        except grader.Interrupted:
            finished.set()
            if lost.is_set():
                log("lease-lost", submission=job.id, attempt=job.attempt, worker=self.name)
            elif queue.release(self.engine, job, self.name):
                log("released", submission=job.id, attempt=job.attempt, worker=self.name,
                    why="stopping before the grading finished")
            return
        except Exception as exc:  # noqa: BLE001 - a grader-side fault: recorded as error, costs no attempt
            result = grader.error_result(job.id, self.runner, f"service worker error: {type(exc).__name__}: {exc}")
            executor = None
        finally:
            finished.set()
            progress.close()
            shutil.rmtree(tmp, ignore_errors=True)
        seconds = time.monotonic() - started
        # the pack version read with the course at the start: the one this grading used
        state = queue.finish(self.engine, job, self.name, result, seconds, limits.max_grader_tries,
                             course.pack_version)
        log("graded", submission=job.id, attempt=job.attempt, worker=self.name, state=state,
            status=result.get("status"), score=result.get("score"), max_score=result.get("max_score"),
            pack_version=course.pack_version, runner=result.get("runner"), seconds=round(seconds, 3), progress_events=progress.events,
            progress_writes=progress.writes, **({"dask_worker": executor} if executor else {}))
        self._seen(None)


def parser() -> argparse.ArgumentParser:
    """The worker's options (``netgrade serve worker ...`` passes its arguments here)."""
    ap = argparse.ArgumentParser(prog="netgrade serve worker")
    ap.add_argument("--db", required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--runner", default="auto", choices=["auto", "local", "docker"])
    ap.add_argument("--lease", type=float, default=30.0)
    ap.add_argument("--grace", type=float, default=60.0)
    ap.add_argument("--parent", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--jobs", type=int, default=None, help="the most checks at a time in one grading")
    ap.add_argument("--dask", default=None)
    ap.add_argument("--progress-every", type=float, default=0.5,
                    help="seconds between two writes of a grading's progress (done/total) to the database")
    ap.add_argument("--grader-argv", default=None, help=argparse.SUPPRESS)  # tests: a grader that crashes
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    name = a.name or f"{socket.gethostname()}:{os.getpid()}"
    loop = WorkerLoop(db.normalize_url(a.db), name, a.runner, a.lease, a.grace, a.parent, a.timeout, a.jobs,
                      a.dask, json.loads(a.grader_argv) if a.grader_argv else None, progress_s=a.progress_every)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _f: loop.request_stop(signal.Signals(signum).name))
    return loop.run()


if __name__ == "__main__":
    sys.exit(main())
