"""Helpers for the service's tests: a real ``netgrade serve`` on 127.0.0.1, a real PostgreSQL on loopback.

Every wait is for an event (the health answer, a state in the database's
answer, a process's exit) with a deadline; no fixed sleeps.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

def _pg_bin() -> Path:
    """Debian's PostgreSQL programs, of the newest version installed (15 on bookworm)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
ROOT = Path(__file__).resolve().parent.parent
REF_UDP_SEND = ROOT / "reference" / "udp_send.py"
GRADE_S = 240  # one udp-send grading, on a machine shared with other jobs


#: seconds a program of a progress test waits before it starts: the checks run side by side and each takes a
#: few milliseconds, so without it a grading could end before its progress was ever seen between 0 and the
#: total; well inside the 3 s a program gets to start
SLOW_START_S = 1.0


def slow_start(source: bytes) -> bytes:
    """A program that starts SLOW_START_S late (it still passes every check)."""
    return f"import time\ntime.sleep({SLOW_START_S})\n".encode() + source


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def netgrade(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netgrade", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def poll(what, timeout: float, interval: float = 0.2, message: str = ""):
    """Call ``what()`` until it returns something truthy; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = what()
        if last:
            return last
        time.sleep(interval)  # the interval of a poll bounded by the deadline, not a wait for an event
    raise AssertionError(f"{message or 'condition'} not met within {timeout:g} s; last seen: {last!r}")


class Service:
    """``netgrade serve`` as a real process; ``log`` is its stderr (the structured logs)."""

    def __init__(self, data: Path, db_url: str | None, workers: int = 1, lease: float = 30, grace: float = 60,
                 extra: tuple[str, ...] = (), runner: str = "local") -> None:
        self.data, self.db_url, self.workers, self.lease, self.grace = data, db_url, workers, lease, grace
        self.extra, self.runner = extra, runner
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data / f"serve-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []

    def db_args(self) -> list[str]:
        return ["--data", str(self.data)] + (["--db", self.db_url] if self.db_url else [])

    def start(self, timeout: float = 90) -> "Service":
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.data / f"serve-{self.port}.log"
        self.logs.append(self.log)
        err = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "netgrade", "serve", *self.db_args(), "--port", str(self.port),
             "--workers", str(self.workers), "--runner", self.runner, "--lease", str(self.lease),
             "--grace", str(self.grace), *self.extra],
            stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        err.close()

        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"netgrade serve exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        poll(healthy, timeout, message="GET /healthz answering 200")
        return self

    def workers_pids(self) -> list[int]:
        import psutil
        return [c.pid for c in psutil.Process(self.proc.pid).children() if "netgrade.service.worker" in
                " ".join(c.cmdline())]

    @contextlib.contextmanager
    def workers_held(self, tries: int = 50):
        """The workers frozen (SIGSTOP) while the body runs, so nothing is graded however fast a grading is.

        Each is frozen between two transactions: a worker frozen inside one would hold SQLite's write lock,
        and every write of the API would wait for it, then be answered 503 (the service's rule for a busy
        database, tested in test_service_busy.py); this test wants the API free.  So on SQLite, when the lock
        cannot be taken at once, the workers run on and are frozen again."""
        import psutil
        pids = self.workers_pids()
        assert pids, "no worker process to hold"
        try:
            for _ in range(tries):
                for pid in pids:
                    os.kill(pid, signal.SIGSTOP)
                poll(lambda: all(psutil.Process(pid).status() == psutil.STATUS_STOPPED for pid in pids), 10,
                     0.01, "the workers stopped")
                if self.db_url is not None or _sqlite_writable(self.data / "netgrade.db"):
                    break
                for pid in pids:
                    os.kill(pid, signal.SIGCONT)
            else:
                raise AssertionError(f"the workers held SQLite's write lock each of {tries} times they were frozen")
            yield pids
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"netgrade serve did not stop within {timeout:g} s after {sig!r}") from None

    def all_logs(self) -> str:
        return "".join(p.read_text("utf-8", "replace") for p in self.logs if p.exists())

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {token}"})


def _sqlite_writable(path: Path) -> bool:
    """Whether SQLite's write lock on ``path`` can be taken within 0.2 s (then it is given back at once)."""
    import sqlite3
    con = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


def init_course(data: Path, db_url: str | None, course: str, *args: str) -> str:
    proc = netgrade("serve", "init", "--data", str(data), *(["--db", db_url] if db_url else []),
                    "--course", course, *args)
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip().splitlines()[-1]
    assert token.startswith("ng_") and len(token) >= 40, proc.stdout
    return token


def add_roster(data: Path, db_url: str | None, course: str, students: list[str], tmp: Path) -> dict[str, str]:
    import csv
    roster = tmp / f"roster-{course}.csv"
    roster.write_text("student_id,name\n" + "".join(f"{s},Student {s}\n" for s in students), "utf-8")
    links = tmp / f"links-{course}.csv"
    proc = netgrade("serve", "roster", "--data", str(data), *(["--db", db_url] if db_url else []),
                    "--course", course, str(roster), "--links", str(links))
    assert proc.returncode == 0, proc.stderr
    with open(links, encoding="utf-8") as f:
        return {row["student_id"]: row["token"] for row in csv.DictReader(f)}


def wait_state(client: httpx.Client, sub_id: str, states: tuple[str, ...], timeout: float) -> dict:
    def check():
        r = client.get(f"/api/submissions/{sub_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        return body if body["state"] in states else None
    return poll(check, timeout, interval=0.5, message=f"submission {sub_id} in {states}")


# ---------------------------------------------------------------- PostgreSQL

class Postgres:
    """A throwaway PostgreSQL 15 cluster: 127.0.0.1 only, a free port, its socket in its own folder."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="netgrade-pg-"))
        self.port = free_port()
        self.user = None
        self.why = ""

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        kw = {}
        if os.geteuid() == 0:
            kw = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid, "extra_groups": []}
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, cwd=self.dir,
                              stdin=subprocess.DEVNULL, **kw)

    def start(self) -> bool:
        if not (PG_BIN / "initdb").exists():
            self.why = f"PostgreSQL is not installed ({PG_BIN}/initdb missing; Debian: apt-get install postgresql)"
            return False
        if os.geteuid() == 0:  # initdb refuses root: a user of our own, owning the temp folder
            for name in ("ngtest", "nobody"):
                try:
                    pw = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                os.chown(self.dir, pw.pw_uid, pw.pw_gid)
                break
            else:
                self.why = "running as root and no unprivileged user (ngtest, nobody) to run PostgreSQL"
                return False
        os.chmod(self.dir, 0o700)
        p = self._run(str(PG_BIN / "initdb"), "-D", str(self.dir / "db"), "-U", "netgrade", "--auth=trust",
                      "-E", "UTF8", "--no-sync")
        if p.returncode != 0:
            self.why = f"initdb failed: {p.stderr.strip()[-500:]}"
            return False
        (self.dir / "sock").mkdir()
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir / "sock", pw.pw_uid, pw.pw_gid)
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir / 'sock'} -c fsync=off"
        p = self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "db"), "-o", opts, "-l",
                      str(self.dir / "pg.log"), "-w", "-t", "60", "start")
        if p.returncode != 0:
            log = (self.dir / "pg.log").read_text(errors="replace")[-800:] if (self.dir / "pg.log").exists() else ""
            self.why = f"pg_ctl start failed: {p.stderr.strip()[-300:]} {log}"
            return False
        return True

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://netgrade@127.0.0.1:{self.port}/{dbname}"

    def create_db(self, name: str) -> str:
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=netgrade dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if (self.dir / "db" / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "db"), "-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- fixtures (imported by the test modules)

@pytest.fixture(scope="module")
def postgres():
    pg = Postgres()
    if not pg.start():
        pg.stop()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL could not be started: {pg.why}")
        pytest.skip(f"PostgreSQL could not be started: {pg.why}")
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return None  # the default: DATA/netgrade.db
    pg = request.getfixturevalue("postgres")
    return pg.create_db("ng_" + re.sub(r"[^a-z0-9]", "_", request.node.name.lower())[:40])


@pytest.fixture
def services():
    started: list[Service] = []
    yield started
    for s in started:
        s.stop()


def upload(client: httpx.Client, files: list[tuple[str, bytes]]) -> httpx.Response:
    return client.post("/api/submissions", files=[("files", (n, d, "application/octet-stream")) for n, d in files])


def course(tmp_path, db_url, students, *limits_args, programs=("udp-send",), runner="local"):
    data = tmp_path / "data"
    args = [a for p in programs for a in ("--program", p)]
    teacher = init_course(data, db_url, "net101", *args, "--runner", runner, *limits_args)
    tokens = add_roster(data, db_url, "net101", students, tmp_path)
    return data, teacher, tokens


