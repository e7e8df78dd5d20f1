"""The queue survives what kills it: the service and a worker SIGKILLed mid-grading, SIGTERM, grader faults,
late and duplicate result writes.  Real processes, a real SQLite database (WAL)."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import time

import psutil
import pytest
from servicekit import (GRADE_S, REF_UDP_SEND, Service, course, db_url, poll, postgres,  # noqa: F401
                        services, slow_start, upload, wait_state)

from netgrade.service import db, queue
from netgrade.service.models import Course, Student, Submission, Upload


def _graders_of(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _end(procs: list[psutil.Process], timeout: float = 60) -> None:
    """Orphaned grading processes of a killed worker: let them end (their own timeouts), kill what is left."""
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)


def _rows(data, sql: str, *args, url: str | None = None) -> list[tuple]:
    """Rows straight from the service's database (SQLite in DATA, or ``url``); ``?`` marks the arguments."""
    from sqlalchemy import text
    engine = db.connect(url or db.default_url(data))
    names = {}
    for i, a in enumerate(args):
        sql = sql.replace("?", f":a{i}", 1)
        names[f"a{i}"] = a
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), names).all()]
    finally:
        engine.dispose()


@pytest.mark.timeout(1800)
def test_sigkill_mid_grading_loses_nothing_and_charges_once(tmp_path, db_url, services):
    n = 20
    students = [f"s{i:02d}" for i in range(n)]
    data, teacher, tokens = course(tmp_path, db_url, students, "--limits", '{"cooldown_s": 0}')
    svc = Service(data, db_url, workers=2, lease=8, grace=2).start()
    services.append(svc)
    ids = {}
    for s in students:  # twenty different, correct submissions
        with svc.client(tokens[s]) as c:
            r = upload(c, [("udp_send.py", REF_UDP_SEND.read_bytes() + f"# {s}\n".encode())])
            assert r.status_code == 202, r.text
            ids[s] = r.json()["id"]
    # mid-grading: a worker has a grading process at work on a running submission
    workers = poll(lambda: len(svc.workers_pids()) == 2 and svc.workers_pids(), 60, message="two workers")
    victim = poll(lambda: next((w for w in workers if any("netgrade.batch" in " ".join(p.cmdline())
                                                          for p in _graders_of(w))), None),
                  GRADE_S, message="a worker grading")
    orphans = _graders_of(victim)
    other = [psutil.Process(w) for w in workers if w != victim]
    running_then = [r[0] for r in _rows(data, "SELECT id FROM submissions WHERE state = 'running'", url=db_url)]
    assert running_then, "nothing was running when the service was killed"
    os.kill(svc.proc.pid, signal.SIGKILL)
    os.kill(victim, signal.SIGKILL)
    svc.proc.wait(timeout=30)
    # the surviving worker sees its parent gone: it stops taking jobs and gives its job back (grace 2 s)
    gone, alive = psutil.wait_procs(other, timeout=120)
    assert not alive, "a worker outlived the killed service"
    _end(orphans)
    killed_lease = [r[0] for r in _rows(data, "SELECT id FROM submissions WHERE state = 'running'", url=db_url)]
    assert killed_lease, "the killed worker's submission should still hold its (dead) lease"

    svc2 = Service(data, db_url, workers=2, lease=8, grace=2).start()
    services.append(svc2)
    with svc2.client(teacher) as t:
        def all_done():
            subs = t.get("/api/submissions").json()["submissions"]
            return len(subs) == n and all(s["state"] in ("done", "failed") for s in subs) and subs
        subs = poll(all_done, n * GRADE_S / 2, interval=2, message="all 20 submissions graded")
    assert sorted(s["id"] for s in subs) == sorted(ids.values()), "a submission was lost or invented"
    assert all(s["state"] == "done" and s["score"] == 7 and s["charged"] for s in subs), \
        [(s["student"], s["state"], s["message"]) for s in subs if s["state"] != "done"]
    # exactly one result per submission (the database's own record), charged once
    per_sub = dict(_rows(data, "SELECT submission_id, COUNT(*) FROM gradings GROUP BY submission_id", url=db_url))
    assert per_sub == {i: 1 for i in ids.values()}, per_sub
    for sid in killed_lease:
        attempt, = _rows(data, "SELECT attempt FROM submissions WHERE id = ?", sid, url=db_url)[0]
        assert attempt >= 2, f"{sid} was killed mid-grading and graded by a later lease; attempt {attempt}"
    logs = svc.all_logs() + svc2.all_logs()
    assert any(json.loads(line).get("event") == "requeued" for line in logs.splitlines() if line.startswith("{"))


@pytest.mark.timeout(900)
def test_sigterm_gives_the_running_job_back_or_lets_it_finish(tmp_path, services):
    data, teacher, tokens = course(tmp_path, None, ["tia"], "--limits", '{"cooldown_s": 0}')
    svc = Service(data, None, workers=1, lease=10, grace=0.5).start()
    services.append(svc)
    with svc.client(tokens["tia"]) as c:
        # a program that starts a second late: its grading outlasts the 0.5 s grace, however fast checks run
        sid = upload(c, [("udp_send.py", slow_start(REF_UDP_SEND.read_bytes()))]).json()["id"]
        wait_state(c, sid, ("running",), 60)
    worker, = svc.workers_pids()
    poll(lambda: any("netgrade.batch" in " ".join(p.cmdline()) for p in _graders_of(worker)), 60,
         message="the grading process started")
    graders = _graders_of(worker)
    t0 = time.monotonic()
    assert svc.stop(signal.SIGTERM, timeout=120) == 0
    assert time.monotonic() - t0 < 60
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
    _, alive = psutil.wait_procs(graders, timeout=30)
    assert not alive, "a grading process outlived the stopped service"
    row = _rows(data, "SELECT state, lease_owner, charged FROM submissions WHERE id = ?", sid)[0]
    assert row == ("queued", None, 0), row
    assert '"event": "released"' in svc.all_logs()
    # the next start grades it; SIGTERM now, with a grace period long enough: the grading finishes first
    svc2 = Service(data, None, workers=1, lease=10, grace=GRADE_S).start()
    services.append(svc2)
    with svc2.client(tokens["tia"]) as c:
        wait_state(c, sid, ("running", "done"), 60)
    assert svc2.stop(signal.SIGTERM, timeout=GRADE_S + 60) == 0
    row = _rows(data, "SELECT state, score, charged, lease_owner FROM submissions WHERE id = ?", sid)[0]
    assert row == ("done", 7, 1, None), row
    assert '"event": "released"' not in svc2.all_logs()


def test_grader_failure_is_retried_then_error_costing_no_attempt(tmp_path, services):
    crash = tmp_path / "crash.py"
    crash.write_text("import sys\nprint('grader exploded', file=sys.stderr)\nsys.exit(3)\n")
    data, teacher, tokens = course(tmp_path, None, ["una"],
                                   "--limits", '{"cooldown_s": 0, "max_attempts": 1, "max_grader_tries": 2}')
    import sys
    svc = Service(data, None, workers=1, extra=("--grader-argv", json.dumps([sys.executable, str(crash)]))).start()
    services.append(svc)
    with svc.client(tokens["una"]) as c:
        sid = upload(c, [("udp_send.py", REF_UDP_SEND.read_bytes())]).json()["id"]
        st = wait_state(c, sid, ("done", "failed"), 120)
        assert st["state"] == "failed" and st["status"] == "error" and st["charged"] is False, st
        assert "grader error (costs no attempt)" in st["message"] and "grader exploded" in st["message"], st
        assert st["result"]["status"] == "error"
        # the one attempt allowed is still there
        again = upload(c, [("udp_send.py", REF_UDP_SEND.read_bytes())])
        assert again.status_code == 202, again.text
    tries = _rows(data, "SELECT attempt, status FROM gradings WHERE submission_id = ? ORDER BY attempt", sid)
    assert tries == [(1, "error"), (2, "error")], tries


def test_late_and_duplicate_result_writes_change_nothing(tmp_path):
    """The queue's own rules, on a real SQLite database: a reaped lease's result is ignored, a result is
    written once per (submission, attempt), an empty queue gives nothing."""
    from sqlalchemy.orm import Session
    engine = db.connect(f"sqlite:///{tmp_path / 'q.db'}")
    db.upgrade(engine)
    now = time.time()
    with Session(engine) as s, s.begin():
        c = Course(name="c", programs="[]", runner="local", limits="{}", lang="en", created_at=now)
        s.add(c)
        s.flush()
        st = Student(course_id=c.id, student_id="x", name="X", created_at=now)
        s.add(st)
        s.flush()
        s.add(Submission(id="a" * 32, course_id=c.id, student_pk=st.id, state="queued", attempt=0,
                         grader_errors=0, created_at=now, queued_at=now, filename="s.zip", size=1, late=False,
                         charged=False, message="", done_checks=0))
        s.flush()
        s.add(Upload(submission_id="a" * 32, data=b"x"))
    graded = {"schema": "netgrade.result/1", "status": "graded", "score": 5, "max_score": 7, "runner": "local",
              "programs": [{"checks": [{}, {}]}]}
    first = queue.claim(engine, "w1", lease_s=30)
    assert first is not None and first.attempt == 1
    assert queue.claim(engine, "w2", lease_s=30) is None, "a leased submission was handed out twice"
    assert queue.reap(engine) == [], "a live lease was reaped"
    assert queue.reap(engine, now=time.time() + 60) == ["a" * 32]  # w1 died: its lease expired
    second = queue.claim(engine, "w2", lease_s=30)
    assert second.attempt == 2
    assert queue.heartbeat(engine, first, "w1", 30) is False, "the old lease still beats"
    assert queue.finish(engine, first, "w1", graded, 1.0, 3) == "stale", "a late result was taken"
    assert queue.finish(engine, second, "w2", {**graded, "score": 7}, 1.0, 3) == "done"
    assert queue.finish(engine, second, "w2", {**graded, "score": 0}, 1.0, 3) == "stale", "a duplicate was taken"
    with Session(engine) as s:
        sub = s.get(Submission, "a" * 32)
        assert (sub.state, sub.score, sub.charged, sub.result_attempt, sub.total_checks) == ("done", 7, True, 2, 2)
    con = sqlite3.connect(tmp_path / "q.db")
    assert con.execute("SELECT attempt, worker FROM gradings").fetchall() == [(2, "w2")]
    con.close()
