"""A database the service cannot write to now: SQLite's write lock held by another process's transaction, as
by a worker frozen (SIGSTOP, a paused machine) in the middle of one.

The rules: reads are answered as usual (WAL); a write waits ``--db-wait`` seconds, then is answered 503 with
Retry-After, never the service's 500, and nothing of it is stored; ``netgrade submit`` sends it again; a
worker that finds the queue empty takes no write lock, so an idle worker frozen mid-poll holds up nothing.
"""
from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading

from fastapi.testclient import TestClient
from servicekit import REF_UDP_SEND, Service, course, services, upload  # noqa: F401
from test_service_pages import make_site, sign_in

from netgrade.service import db, queue
from netgrade.service.app import Settings, create_app


def _write_lock(path) -> sqlite3.Connection:
    """Another process's open write transaction on the SQLite database at ``path``."""
    con = sqlite3.connect(path, timeout=5, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    return con


def _rows(path, sql: str) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_write_the_locked_database_cannot_take_is_a_503_and_reads_go_on(tmp_path):
    engine, _app, tokens, _teacher, _ = make_site(tmp_path, Settings())
    engine.dispose()
    busy = db.connect(db.default_url(tmp_path), busy_s=0.3)  # the service's engine, with --db-wait 0.3
    app = create_app(busy, Settings())
    path = tmp_path / db.DB_NAME
    lock = _write_lock(path)
    try:
        with TestClient(app) as c:  # its start-up reap finds no expired lease: no write lock needed
            auth = {"Authorization": f"Bearer {tokens['amy']}"}
            me = c.get("/api/me", headers=auth)
            assert me.status_code == 200 and me.json()["student"] == "amy", (me.status_code, me.text)
            assert c.get("/api/submissions", headers=auth).json() == {"submissions": []}
            r = c.post("/api/submissions", headers=auth,
                       files=[("files", ("udp_send.py", REF_UDP_SEND.read_bytes(), "text/x-python"))])
            assert r.status_code == 503, (r.status_code, r.text)
            assert r.json() == {"error": str(db.BUSY)} and r.headers["retry-after"] == str(db.RETRY_S), r.headers
            assert _rows(path, "SELECT count(*) FROM submissions") == [(0,)]
            # a page's write: the error page, in the page's language, and no session row
            page = c.get("/?lang=zh")
            m = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert m, page.text[:300]
            r = c.post("/signin", data={"csrf": m.group(1), "token": tokens["amy"]}, follow_redirects=False)
            assert r.status_code == 503 and r.headers["content-type"].startswith("text/html"), (r.status_code, r.text)
            assert "数据库" in r.text and "database" not in r.text, r.text[-800:]
            assert _rows(path, "SELECT count(*) FROM web_sessions") == [(0,)]
            # the lock given back: the same requests are taken
            lock.execute("ROLLBACK")
            r = c.post("/api/submissions", headers=auth,
                       files=[("files", ("udp_send.py", REF_UDP_SEND.read_bytes(), "text/x-python"))])
            assert r.status_code == 202, (r.status_code, r.text)
            assert sign_in(c, tokens["amy"]).status_code == 303
    finally:
        lock.close()
        busy.dispose()


def test_an_idle_worker_s_poll_takes_no_write_lock(tmp_path):
    """claim and reap on an empty queue read only: with another transaction holding the write lock they
    answer at once (before, each poll took the lock and waited for it, and a worker frozen inside held it)."""
    make_site(tmp_path, Settings())[0].dispose()
    engine = db.connect(db.default_url(tmp_path), busy_s=0.3)
    lock = _write_lock(tmp_path / db.DB_NAME)
    try:
        assert queue.claim(engine, "w1", lease_s=30) is None
        assert queue.reap(engine) == []
    finally:
        lock.close()
        engine.dispose()


def test_netgrade_submit_sends_again_while_the_service_answers_busy(tmp_path, services):
    data, _teacher, tokens = course(tmp_path, None, ["alice"], "--limits", '{"cooldown_s": 0}')
    svc = Service(data, None, workers=0, extra=("--db-wait", "0.5")).start()
    services.append(svc)
    lock = _write_lock(data / db.DB_NAME)
    try:
        p = subprocess.Popen([sys.executable, "-m", "netgrade", "submit", str(REF_UDP_SEND), "--server", svc.url,
                              "--token", tokens["alice"], "--no-wait"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said: list[str] = []
        seen = threading.Event()

        def read_stderr() -> None:
            for line in p.stderr:
                said.append(line)
                if "busy" in line:
                    seen.set()
        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert seen.wait(60), f"netgrade submit did not say the service was busy: {said!r}"
        assert _rows(data / db.DB_NAME, "SELECT count(*) FROM submissions") == [(0,)]
        lock.execute("ROLLBACK")  # the frozen writer goes on: the next try is taken
        out, _ = p.communicate(timeout=60)
        reader.join(10)
        assert p.returncode == 0, (p.returncode, out, said)
        assert re.fullmatch(r"[0-9a-f]{32}\n", out), repr(out)
        busy_line = next(line for line in said if "busy" in line)
        assert "503" in busy_line and f"again in {db.RETRY_S} s" in busy_line, said
        assert _rows(data / db.DB_NAME, "SELECT id FROM submissions") == [(out.strip(),)]
    finally:
        lock.close()
    log = svc.all_logs()
    assert '"database-busy"' in log and '"status": 500' not in log, log[-2000:]
