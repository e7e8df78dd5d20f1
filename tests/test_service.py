"""The grading service for real: ``netgrade serve`` on 127.0.0.1 (uvicorn), SQLite in WAL mode and a real
PostgreSQL on loopback, real grading workers, ``netgrade submit``.

Small courses keep them fast: one program (udp-send), our reference as the
correct submission.
"""
from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import zipfile

import pytest
from servicekit import (GRADE_S, REF_UDP_SEND, Service, add_roster, course, db_url, init_course,  # noqa: F401
                        netgrade, postgres, services, upload, wait_state)


def test_submit_is_graded_and_shown(tmp_path, db_url, services):
    data, teacher, tokens = course(tmp_path, db_url, ["alice", "bob"], "--limits", '{"cooldown_s": 0}')
    svc = Service(data, db_url, workers=1).start()
    services.append(svc)
    with svc.client(tokens["alice"]) as alice:
        r = upload(alice, [("udp_send.py", REF_UDP_SEND.read_bytes())])
        assert r.status_code == 202, r.text
        body = r.json()
        for key in ("id", "state", "position", "done", "total", "score", "max_score"):
            assert key in body, f"{key} missing from the 202 answer: {body}"
        assert body["state"] == "queued" and body["position"] == 1, body
        assert r.headers["location"] == f"/api/submissions/{body['id']}"
        done = wait_state(alice, body["id"], ("done", "failed"), GRADE_S)
        assert done["state"] == "done", done
        assert done["score"] == done["max_score"] == 7, done
        assert done["result"]["schema"] == "netgrade.result/1"
        assert done["result"]["runner"] == done["runner"] == "local"
        assert done["done"] == done["total"] == 6 and done["charged"] is True, done
        res = alice.get(f"/api/submissions/{body['id']}/result")
        assert res.status_code == 200 and res.json()["score"] == 7
        rep = alice.get(f"/api/submissions/{body['id']}/report.html")
        assert rep.status_code == 200 and rep.headers["content-type"].startswith("text/html")
        assert "udp-send" in rep.text and "<script" not in rep.text.lower()
    # the instructor sees the gradebook: latest and best
    with svc.client(teacher) as t:
        gb = t.get("/api/gradebook").json()["students"]
        row = {r["student"]: r for r in gb}
        assert row["alice"]["latest_score"] == 7 and row["alice"]["best_score"] == 7, row
        assert row["bob"]["submissions"] == 0
        csv_text = t.get("/api/gradebook", params={"format": "csv"}).text
        assert csv_text.splitlines()[0].startswith("student,name,") and "alice" in csv_text
        health = t.get("/api/health").json()
        assert health["workers_alive"] == 1 and health["queued"] == 0, health
    # netgrade submit: the table and the JSON; a missing program exits 1 as `netgrade check` does
    sub = tmp_path / "bob"
    sub.mkdir()
    (sub / "notes.txt").write_text("udp_send.py is not written yet\n")
    out = tmp_path / "bob.json"
    p = netgrade("submit", str(sub), "--server", svc.url, "--json", str(out), env={"NETGRADE_TOKEN": tokens["bob"]},
                 timeout=GRADE_S)
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.match(r"^[0-9a-f]{32}$", p.stdout.splitlines()[0]), p.stdout
    assert "udp-send" in p.stdout and "missing" in p.stdout, p.stdout
    assert json.loads(out.read_text())["programs"][0]["status"] == "missing"
    # the worker held still so the first stays waiting however fast a grading is: the second is refused
    with svc.workers_held():
        p = netgrade("submit", str(REF_UDP_SEND), "--server", svc.url, "--token", tokens["alice"], "--no-wait")
        assert p.returncode == 0, p.stderr
        assert re.fullmatch(r"[0-9a-f]{32}\n", p.stdout), repr(p.stdout)
        p = netgrade("submit", str(REF_UDP_SEND), "--server", svc.url, "--token", tokens["alice"], "--no-wait")
        assert p.returncode == 2 and "409" in p.stderr and "waiting or being graded" in p.stderr, p.stderr


def test_students_see_only_their_own(tmp_path, db_url, services):
    data, teacher, tokens = course(tmp_path, db_url, ["ann", "ben"])
    svc = Service(data, db_url, workers=0).start()  # nothing graded: ids and answers only
    services.append(svc)
    with svc.client(tokens["ben"]) as ben, svc.client(tokens["ann"]) as ann, svc.client(teacher) as t:
        r = upload(ben, [("udp_send.py", REF_UDP_SEND.read_bytes())])
        assert r.status_code == 202, r.text
        bens = r.json()["id"]
        assert ben.get(f"/api/submissions/{bens}").status_code == 200
        missing = "0" * 32
        for path in ("", "/result", "/report.html", "/events"):
            theirs = ann.get(f"/api/submissions/{bens}{path}")
            nobody = ann.get(f"/api/submissions/{missing}{path}")
            assert theirs.status_code == 404, (path, theirs.status_code, theirs.text)
            assert theirs.json() == nobody.json() == {"error": "not found"}, (theirs.text, nobody.text)
        assert ann.get("/api/submissions").json()["submissions"] == []
        assert [s["id"] for s in ben.get("/api/submissions").json()["submissions"]] == [bens]
        # the instructor: all attempts of one student
        assert [s["id"] for s in t.get("/api/submissions", params={"student_id": "ben"}).json()["submissions"]] \
            == [bens]
        assert t.get("/api/submissions", params={"student_id": "ann"}).json()["submissions"] == []
        assert t.get("/api/submissions", params={"student_id": "zed"}).status_code == 404
        for path in ("/api/roster", "/api/gradebook", "/api/health", "/api/course"):  # instructor API
            assert ann.get(path).status_code == 404, path
        assert ann.post("/api/regrade", json={"all": True}).status_code == 404
        # the instructor adds a student through the API: the token is in that answer only
        r = t.post("/api/roster", json={"students": [{"id": "cat", "name": "Cat C"}]})
        assert r.status_code == 201, r.text
        cat_token = r.json()["added"][0]["token"]
        assert len(cat_token) >= 40 and t.get("/api/me").status_code == 200
        with svc.client(cat_token) as cat:
            assert cat.get("/api/me").json()["student"] == "cat"
        after = [t.get(p).text for p in ("/api/roster", "/api/gradebook", "/api/submissions", "/api/me",
                                         f"/api/submissions/{bens}")]
        after += [ben.get(f"/api/submissions/{bens}").text, ben.get("/api/me").text]
    svc.stop()
    every = list(tokens.values()) + [teacher, cat_token]
    logs = svc.all_logs()
    assert '"event": "request"' in logs
    for tok in every:
        assert tok not in logs, "a token is in the service's log"
        for text in after:
            assert tok not in text, "a token is in an answer after its creation"
    # stored only as a hash
    if db_url is None:
        con = sqlite3.connect(data / "netgrade.db")
        dump = "\n".join(con.iterdump())
        con.close()
        for tok in every:
            assert tok not in dump


def _zip(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return buf.getvalue()


def _tar_with_link(name: str, target: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        tf.addfile(info)
    return buf.getvalue()


def test_bad_input_is_refused_and_nothing_stored(tmp_path, db_url, services):
    data, teacher, tokens = course(tmp_path, db_url, ["eve"], "--limits", '{"cooldown_s": 0}')
    svc = Service(data, db_url, workers=0).start()
    services.append(svc)
    ref = REF_UDP_SEND.read_bytes()
    bomb = _zip({"udp_send.py": ref, "zeros.bin": bytes(60 * 2**20)})
    assert len(bomb) < 1 << 20  # a small upload that unpacks to 60 MiB
    cases = {
        "oversized": ([("udp_send.py", ref + b"#" * (11 * 2**20))], 413),
        "zip-slip": ([("s.zip", _zip({"../../udp_send.py": ref}))], 400),
        "absolute": ([("s.zip", _zip({"/etc/udp_send.py": ref}))], 400),
        "zip link out": ([("s.zip", _zip({"udp_send.py": ref}, {"passwd": "../../../etc/passwd"}))], 400),
        "tar link out": ([("s.tar.gz", _tar_with_link("udp_send.py", "/etc/passwd"))], 400),
        "zip bomb": ([("s.zip", bomb)], 413),
        "not an archive": ([("s.zip", os.urandom(4096))], 400),
        "not a tar.gz": ([("s.tar.gz", b"PK\x03\x04 but not really")], 400),
        "binary loose file": ([("prog.bin", b"\x00\xff\xfe" * 100)], 400),
        "path in a name": ([("../udp_send.py", ref), ("b.py", b"")], 400),
        "archive among files": ([("a.zip", _zip({"x.py": b""})), ("b.py", b"")], 400),
    }
    with svc.client(tokens["eve"]) as eve, svc.client(teacher) as t:
        for label, (files, status) in cases.items():
            r = upload(eve, files)
            assert r.status_code == status, (label, r.status_code, r.text)
            assert r.json()["error"], label
        # malformed requests: 4xx, never 500
        raw = [
            eve.post("/api/submissions", content=b"just bytes", headers={"content-type": "application/zip"}),
            eve.post("/api/submissions", content=b"--x\r\nbroken",
                     headers={"content-type": "multipart/form-data; boundary=x"}),
            eve.post("/api/submissions", content=b"", headers={"content-type": "multipart/form-data"}),
            eve.post("/api/submissions", data={"files": "not a file"}),
            t.post("/api/roster", content=b"{not json", headers={"content-type": "application/json"}),
            t.post("/api/roster", json={"students": [{"id": "x"}]}),
            t.post("/api/roster", json={"students": [{"id": "../x", "name": "X"}]}),
            t.post("/api/roster", json=[1, 2, 3]),
            t.put("/api/course/limits", json={"cooldown_s": -1}),
            t.put("/api/course/limits", json={"deadline": "tomorrow"}),
            t.post("/api/regrade", json={}),
            t.get("/api/gradebook", params={"format": "xml"}),
            eve.get("/api/submissions/" + "x" * 5000),
        ]
        for r in raw:
            assert 400 <= r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text)
            assert "error" in r.json(), r.text
        assert t.get("/api/submissions").json()["submissions"] == [], "a refused upload left a row behind"
    svc.stop()
    assert '"status": 500' not in svc.all_logs()
    if db_url is None:
        con = sqlite3.connect(data / "netgrade.db")
        assert con.execute("SELECT COUNT(*) FROM uploads").fetchone() == (0,)
        assert con.execute("SELECT COUNT(*) FROM submissions").fetchone() == (0,)
        con.close()


def test_client_imports_nothing_linux_only(tmp_path):
    """``netgrade submit``'s client path on Windows/macOS: Linux-only modules unavailable, it still works."""
    code = r"""
import sys
BLOCKED = {"fcntl", "termios", "resource", "pwd", "grp", "pty", "tty", "posix_ipc", "prctl"}
class Block:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in BLOCKED or name.startswith(("netgrade.sandbox", "netgrade.docker", "netgrade.runner")):
            raise ImportError(f"{name} is Linux-only (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
for m in list(sys.modules):
    if m.split(".")[0] in BLOCKED:
        del sys.modules[m]
from netgrade.service import client
from netgrade.results import Result
from netgrade.terminal import render
name, data = client.pack(sys.argv[1])
import io, zipfile
assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["udp_send.py"], name
print("packed", name)
"""
    sub = tmp_path / "sub"
    (sub / "__pycache__").mkdir(parents=True)
    (sub / "udp_send.py").write_bytes(REF_UDP_SEND.read_bytes())
    (sub / "__pycache__" / "x.pyc").write_bytes(b"\0")
    p = subprocess.run([sys.executable, "-c", code, str(sub)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "packed sub.zip" in p.stdout


def test_migrations_match_the_models(tmp_path):
    """The Alembic migrations create exactly the tables of the models, and upgrading again keeps the rows."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from netgrade.service import db
    from netgrade.service.models import Base
    engine = db.connect(f"sqlite:///{tmp_path / 'm.db'}")
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == [], diffs
    token = init_course(tmp_path / "d", f"sqlite:///{tmp_path / 'm.db'}", "keep")
    db.upgrade(engine)
    con = sqlite3.connect(tmp_path / "m.db")
    assert con.execute("SELECT name FROM courses").fetchall() == [("keep",)]
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()
    assert token


def test_init_prints_the_token_last_and_refuses_bad_input(tmp_path):
    data = tmp_path / "data"
    p = netgrade("serve", "init", "--data", str(data), "--course", "c1", "--program", "udp-send")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1].startswith("ng_")
    again = netgrade("serve", "init", "--data", str(data), "--course", "c1")
    assert again.returncode == 2 and "exists already" in again.stderr
    bad = netgrade("serve", "init", "--data", str(data), "--course", "c2", "--program", "nope")
    assert bad.returncode == 2 and "unknown program" in bad.stderr
    bad = netgrade("serve", "init", "--data", str(data), "--course", "c3", "--limits", '{"cooldown": 1}')
    assert bad.returncode == 2 and "unknown limit" in bad.stderr
    # a roster added twice: the students already there keep their tokens (none is issued again)
    first = add_roster(data, None, "c1", ["amy", "bo"], tmp_path)
    roster = tmp_path / "more.csv"
    roster.write_text("amy,Amy\ncy,Cy\n")
    p = netgrade("serve", "roster", "--data", str(data), "--course", "c1", str(roster),
                 "--links", str(tmp_path / "l.csv"))
    assert p.returncode == 0 and "1 already on the roster" in p.stdout and "amy" in p.stdout, p.stdout + p.stderr
    lines = (tmp_path / "l.csv").read_text().splitlines()
    assert lines[0] == "student_id,name,token,link" and [x.split(",")[0] for x in lines[1:]] == ["cy"]
    assert first["amy"] not in (tmp_path / "l.csv").read_text()
    assert oct((tmp_path / "l.csv").stat().st_mode & 0o777) == "0o600"
    bad = netgrade("serve", "roster", "--data", str(data), "--course", "nope", str(roster), "--links", "x.csv")
    assert bad.returncode == 2 and "no course 'nope'" in bad.stderr


def test_progress_events_and_regrade(tmp_path, services):
    """Server-Sent Events follow a submission to its result; a regrade grades it again, charging nothing new."""
    data, teacher, tokens = course(tmp_path, None, ["rae"], "--limits", '{"cooldown_s": 0, "max_attempts": 1}')
    svc = Service(data, None, workers=1).start()
    services.append(svc)
    with svc.client(tokens["rae"]) as rae, svc.client(teacher) as t:
        sid = upload(rae, [("udp_send.py", REF_UDP_SEND.read_bytes())]).json()["id"]
        states = []
        with rae.stream("GET", f"/api/submissions/{sid}/events", timeout=GRADE_S) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data: "):
                    states.append(json.loads(line[6:]))
        assert states[-1]["state"] == "done" and states[-1]["score"] == 7, states[-1]
        assert {s["state"] for s in states[:-1]} <= {"queued", "running"}
        r = t.post("/api/regrade", json={"submission": sid})
        assert r.status_code == 202 and r.json()["queued"] == [sid], r.text
        again = wait_state(rae, sid, ("done", "failed"), GRADE_S)
        assert again["state"] == "done" and again["attempt"] == 2 and again["charged"], again
        gb = t.get("/api/gradebook").json()["students"][0]
        assert gb["attempts_charged"] == 1 and gb["latest_score"] == 7, gb
    con = sqlite3.connect(data / "netgrade.db")
    assert con.execute("SELECT attempt, status FROM gradings ORDER BY attempt").fetchall() == [(1, "graded"),
                                                                                              (2, "graded")]
    con.close()


def test_auto_runner_is_docker_when_an_engine_answers(tmp_path, services):
    """--runner auto: the Docker runner when an engine answers with the grading image, and the result says so."""
    from netgrade.service.grader import pick_runner
    runner, why = pick_runner("auto")
    if runner != "docker":
        if os.environ.get("NETGRADE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"NETGRADE_REQUIRE_DOCKER=1 but the service would grade locally: {why}")
        pytest.skip(why)
    data, teacher, tokens = course(tmp_path, None, ["dot"], "--limits", '{"cooldown_s": 0}', runner="auto")
    svc = Service(data, None, workers=1, runner="auto").start()
    services.append(svc)
    with svc.client(tokens["dot"]) as c:
        sid = upload(c, [("udp_send.py", REF_UDP_SEND.read_bytes())]).json()["id"]
        done = wait_state(c, sid, ("done", "failed"), GRADE_S)
    assert done["state"] == "done" and done["runner"] == done["result"]["runner"] == "docker", done
    assert done["score"] == 7, done
    assert '"runner": "docker", "why": "a Docker engine answers' in svc.all_logs()
