"""A grading's progress while it runs: checks done/total, seen through the real service by its Server-Sent
Events and by polling ``GET /api/submissions/{id}``, on SQLite and on PostgreSQL.

The course grades three programs (about 20 checks), each starting a second
late (several seconds in all), so a stream and a poller both see the count
between 0 and the total.
"""
from __future__ import annotations

import json
import re
import threading
import time

import httpx
from servicekit import (GRADE_S, ROOT, Service, course, db_url, netgrade, postgres, services,  # noqa: F401
                        slow_start, upload, wait_state)

PROGRAMS = ("udp-send", "udp-recv", "udp-echo-server")
FILES = ("udp_send.py", "udp_recv.py", "udp_echo_server.py")


def _follow_events(svc: Service, token: str, sub_id: str, seen: list[dict], errors: list[str]) -> None:
    try:
        with httpx.Client(base_url=svc.url, headers={"Authorization": f"Bearer {token}"}) as c, \
                c.stream("GET", f"/api/submissions/{sub_id}/events", timeout=httpx.Timeout(30, read=GRADE_S)) as r:
            if r.status_code != 200:
                errors.append(f"events: {r.status_code}")
                return
            for line in r.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["state"] in ("done", "failed"):
                        return
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(f"events: {type(exc).__name__}: {exc}")


def _poll(svc: Service, token: str, sub_id: str, seen: list[dict], errors: list[str]) -> None:
    deadline = time.monotonic() + GRADE_S
    with svc.client(token) as c:
        while time.monotonic() < deadline:
            r = c.get(f"/api/submissions/{sub_id}")
            if r.status_code != 200:
                errors.append(f"poll: {r.status_code} {r.text[:200]}")
                return
            seen.append(r.json())
            if seen[-1]["state"] in ("done", "failed"):
                return
            time.sleep(0.15)  # a poller's interval, bounded by the deadline


def _check_sequence(name: str, seen: list[dict], total: int) -> None:
    running = [(s["done"], s["total"]) for s in seen if s["state"] == "running"]
    dones = [s["done"] for s in seen]
    assert dones == sorted(dones), f"{name}: done went down: {dones}"
    assert seen[0]["done"] == 0, f"{name}: the first status has done {seen[0]['done']}, expected 0"
    assert seen[-1]["state"] == "done" and seen[-1]["done"] == seen[-1]["total"] == total, seen[-1]
    # once any check is done the total is there, and it is the final one (known before the first check ends)
    wrong = [(d, t) for d, t in running if d > 0 and t != total]
    assert not wrong, f"{name}: running with done > 0 but a total other than {total}: {wrong}"
    # the finished checks come with the count, each once, as program/check keys
    for s in seen:
        if s["state"] == "running":
            keys = [k for k, _ in s["checks"]]
            assert len(keys) == s["done"] and len(set(keys)) == len(keys), (name, s["done"], s["checks"])
            assert all(k.split("/")[0] in PROGRAMS for k in keys), (name, keys)
    between = [(d, t) for d, t in running if 0 < d < total]
    assert between, f"{name}: never saw done strictly between 0 and {total} while running: {running}"


def test_progress_rises_while_grading(tmp_path, db_url, services):
    data, _teacher, tokens = course(tmp_path, db_url, ["amy"], "--limits", '{"cooldown_s": 0}', programs=PROGRAMS)
    svc = Service(data, db_url, workers=1).start()
    services.append(svc)
    token = tokens["amy"]
    files = [(n, slow_start((ROOT / "reference" / n).read_bytes())) for n in FILES]
    with svc.client(token) as amy:
        r = upload(amy, files)
        assert r.status_code == 202, r.text
        sid = r.json()["id"]
        by_sse: list[dict] = []
        by_poll: list[dict] = []
        errors: list[str] = []
        threads = [threading.Thread(target=_follow_events, args=(svc, token, sid, by_sse, errors)),
                   threading.Thread(target=_poll, args=(svc, token, sid, by_poll, errors))]
        for t in threads:
            t.start()
        final = wait_state(amy, sid, ("done", "failed"), GRADE_S)
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    assert final["state"] == "done" and final["score"] == final["max_score"], final
    total = final["total"]
    checks = sum(len(p["checks"]) for p in final["result"]["programs"])
    assert total == checks and total >= 15, (total, checks)
    _check_sequence("SSE", by_sse, total)
    _check_sequence("polling", by_poll, total)
    # netgrade submit draws the same count as a progress bar (rich, on a terminal: forced here)
    folder = tmp_path / "amy-lab"
    folder.mkdir()
    for name, body in files:
        (folder / name).write_bytes(body)
    p = netgrade("submit", str(folder), "--server", svc.url, "--token", token, timeout=GRADE_S,
                 env={"FORCE_COLOR": "1", "COLUMNS": "150"})
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", p.stderr)
    counts = [int(d) for d, t in re.findall(r"\b(\d+)/(\d+)\b", plain) if int(t) == total]
    assert counts and counts == sorted(counts) and counts[-1] <= total, plain[-3000:]
    assert any(0 < c < total for c in counts) or "running: " in plain, plain[-3000:]
    # every check was reported; the worker's writes were rate-limited (0.5 s apart at most, one at once)
    graded = [json.loads(line) for line in svc.all_logs().splitlines()
              if line.startswith("{") and '"event": "graded"' in line]
    assert graded and graded[-1]["progress_events"] == total + 1, graded
    most = 2 + graded[-1]["seconds"] / 0.5
    assert 1 <= graded[-1]["progress_writes"] <= most, (most, graded)


def _running_submission(tmp_path):
    from netgrade.service import db
    from netgrade.service.models import Course, Student, Submission
    from netgrade.service.queue import Job
    from sqlalchemy.orm import Session
    engine = db.connect(db.default_url(tmp_path))
    db.upgrade(engine)
    now = time.time()
    with Session(engine) as s, s.begin():
        s.add(Course(id=1, name="c", created_at=now))
        s.flush()
        s.add(Student(id=1, course_id=1, student_id="a", name="A", created_at=now))
        s.flush()
        s.add(Submission(id="s1", course_id=1, student_pk=1, state="running", attempt=1, lease_owner="w1",
                         lease_expires=now + 600, created_at=now, queued_at=now, filename="f.zip", size=1,
                         done_checks=0))
    return engine, Job("s1", 1, 1, 1, "f.zip")


def _counts(engine):
    from netgrade.service.models import Submission
    from sqlalchemy.orm import Session
    with Session(engine) as s:
        sub = s.get(Submission, "s1")
        return sub.done_checks, sub.total_checks


def test_progress_writes_are_rate_limited(tmp_path):
    """150 checks finishing in a burst cost two transactions (the total at once, then the newest count),
    not 150; the count written never goes down, and only the lease's holder writes."""
    from netgrade.service.progress import ProgressWriter
    engine, job = _running_submission(tmp_path)
    w = ProgressWriter(engine, job, "w1", every_s=0.5)
    w({"event": "total", "total": 150})
    t0 = time.monotonic()
    for i in range(1, 151):
        w({"event": "check", "done": i, "total": 150, "check": f"p/c{i}", "status": "pass"})
    w({"event": "check", "done": 3, "total": 150})  # a late, lower count changes nothing
    deadline = time.monotonic() + 10
    while _counts(engine) != (150, 150) and time.monotonic() < deadline:
        w._news.wait(0.05)  # the writer's next turn, bounded by the deadline
    assert _counts(engine) == (150, 150), _counts(engine)
    elapsed = time.monotonic() - t0
    w.close()
    assert w.events == 152
    assert 1 <= w.writes <= 2 + elapsed / 0.5, (w.writes, elapsed)
    # a writer whose lease is gone (another worker's attempt) writes nothing
    other = ProgressWriter(engine, job, "w2", every_s=0.5)
    other({"event": "total", "total": 999})
    other.close(flush=True)
    assert _counts(engine) == (150, 150), _counts(engine)
