"""Grader-side faults are ``error``, never the student's ``fail``.

Each fault is injected for real into a real grading run (``python3 -m harness
check`` or ``batch`` as a subprocess) and the test reads the verdicts: the
checks the fault touched are ``error`` with the reason, the others are graded
as usual, nothing is left behind (processes, temporary folders), and a batch
grades the touched checks again.  Every grading run here gets a temporary
folder of its own (``TMPDIR``) and a tag in its environment, so what it leaves
behind is found exactly.

The load tests (verdicts do not drift when every CPU is busy) are at the end.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, submission_with

PY = sys.executable
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, mounts)")


# ------------------------------------------------------------------ helpers

class Grader:
    """One grading subprocess with its own TMPDIR and a tag to find what it leaves."""

    def __init__(self, tmp: Path, *, tmpdir: Path | None = None, wrap: list[str] | None = None) -> None:
        self.tag = uuid.uuid4().hex
        self.tmpdir = tmpdir or (tmp / f"tmp-{self.tag[:8]}")
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.out = tmp / f"result-{self.tag[:8]}.json"
        self.wrap = wrap or []
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self.tmpdir), "NETGRADE_FAULT_TAG": self.tag,
                "PYTHONPATH": str(ROOT)}

    def start(self, *args: str) -> subprocess.Popen:
        self.proc = subprocess.Popen([*self.wrap, PY, "-m", "harness", *args], cwd=ROOT, env=self.env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        return self.proc

    def check(self, sub: Path, *args: str, timeout: float = 240) -> tuple[dict, subprocess.CompletedProcess]:
        self.start("check", str(sub), "--json", str(self.out), *args)
        return self.finish(timeout)

    def finish(self, timeout: float = 240) -> tuple[dict, subprocess.CompletedProcess]:
        assert self.proc is not None
        try:
            out, err = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.communicate()
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)
        try:
            data = json.loads(self.out.read_text("utf-8"))
        except FileNotFoundError:
            raise AssertionError(f"no result file; exit {done.returncode}\n{out[-2000:]}\n{err[-2000:]}") from None
        return data, done

    def leftovers(self) -> list[str]:
        """Processes of this run still alive, and what remains in its TMPDIR."""
        left = []
        for p in psutil.process_iter(["pid", "cmdline", "environ"]):
            with contextlib.suppress(psutil.Error, TypeError):
                cmd = " ".join(p.info["cmdline"] or [])
                env = p.info["environ"] or {}
                if env.get("NETGRADE_FAULT_TAG") == self.tag or str(self.tmpdir) in cmd:
                    left.append(f"process {p.pid}: {cmd[:160]}")
        with contextlib.suppress(OSError):
            left += [f"file {x}" for x in os.listdir(self.tmpdir)]
        return left


def assert_clean(g: Grader, deadline_s: float = 10.0) -> None:
    """Nothing of the run is left (processes get ``deadline_s`` to finish dying)."""
    deadline = time.monotonic() + deadline_s
    while True:
        left = g.leftovers()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"left behind: {left}"


def statuses(result: dict) -> dict[str, tuple[str, str]]:
    return {f"{p['id']}/{c['id']}": (c["status"], c["message"]) for p in result["programs"] for c in p["checks"]}


def worker_of(proc: psutil.Process) -> psutil.Process | None:
    """The pytest worker ``proc`` runs under: the ancestor just below the first ``harness`` process."""
    p = proc
    while True:
        parent = p.parent()
        if parent is None:
            return None
        if "harness" in " ".join(parent.cmdline()):
            return p
        p = parent


def wait_for_program(root_pid: int, name: str, timeout: float = 60) -> psutil.Process:
    """A descendant of ``root_pid`` running ``name`` (polled until the deadline)."""
    deadline = time.monotonic() + timeout
    root = psutil.Process(root_pid)
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if any(a.endswith(name) for a in child.cmdline()):
                        return child
        time.sleep(0.01)
    raise AssertionError(f"{name} never started under {root_pid}")


@pytest.fixture
def refs(exported) -> Path:
    return exported


# ------------------------------------------------------------------ a worker killed mid-check

def kill_workers_running(g: Grader, name: str, *, once: bool, timeout: float = 120) -> list[int]:
    """SIGKILL the pytest worker of every run of ``name`` (the first only, if ``once``) until the grader ends."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    root = psutil.Process(g.proc.pid)
    while g.proc.poll() is None and time.monotonic() < deadline and not (once and killed):
        with contextlib.suppress(psutil.Error):
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if any(a.endswith(name) for a in child.cmdline()):
                        worker = worker_of(child)
                        if worker is not None and worker.pid != g.proc.pid and worker.pid not in killed:
                            worker.send_signal(signal.SIGKILL)
                            killed.append(worker.pid)
                            break
        time.sleep(0.01)
    return killed


@ROOT_ONLY
def test_worker_killed_once_mid_check_is_graded_again(tmp_path, refs):
    """SIGKILL the pytest worker while it runs a check: the check is graded again in a new worker."""
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py"})
    g = Grader(tmp_path)
    g.start("check", str(sub), "--program", "udp-echo-server", "--jobs", "2", "--json", str(g.out))
    assert len(kill_workers_running(g, "udp_echo_server.py", once=True)) == 1
    result, done = g.finish()
    got = statuses(result)
    assert all(st == "pass" for st, _ in got.values()), got
    full, _ = Grader(tmp_path).check(sub, "--program", "udp-echo-server")
    assert set(got) == set(statuses(full))  # no check dropped, none twice
    assert len(got) == sum(len(p["checks"]) for p in result["programs"])
    assert any("worker process died while grading udp-echo-server/" in n for n in result["notices"]), result["notices"]
    assert done.returncode == 0
    assert_clean(g)


@ROOT_ONLY
def test_worker_killed_every_time_is_error_never_fail(tmp_path, refs):
    """Every worker that runs the server is killed: its checks are ``error`` with the reason, none ``fail``."""
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py",
                                     "udp_send.py": refs / "udp_send.py"})
    g = Grader(tmp_path)
    g.start("check", str(sub), "--program", "udp-echo-server", "--program", "udp-send", "--jobs", "2",
            "--json", str(g.out))
    killed = kill_workers_running(g, "udp_echo_server.py", once=False)
    result, done = g.finish()
    assert len(killed) >= 2
    got = statuses(result)
    full, _ = Grader(tmp_path).check(sub, "--program", "udp-echo-server", "--program", "udp-send")
    assert set(got) == set(statuses(full))  # every check has a verdict
    assert not [k for k, (st, _) in got.items() if st == "fail"], got
    for key, (st, msg) in got.items():
        if key.startswith("udp-echo-server/"):
            assert st == "error", (key, st, msg)
        if st == "error":
            assert ("worker process died" in msg or "never run" in msg) and "not the program's fault" in msg, msg
    assert done.returncode == 1
    assert_clean(g)
