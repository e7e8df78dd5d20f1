"""Ctrl-C (SIGINT) and SIGTERM at many moments of `netgrade batch` and `netgrade check`.

Each case starts the command as a subprocess whose SIGINT is inherited as
*ignored* (as for a background job of a script: the case that lost the
signal before netgrade installed its own handlers), waits for an event (a
pause point of ``netgrade.interrupts`` reached, or the student's program
running), sends the signal and asserts: exit 130 (143 for SIGTERM), no
process of the run left, no half-written result, and a resume that grades
only what is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import MUTANTS, ROOT
from test_batch import _marked

try:  # the fixture: a real Dask scheduler and two workers
    from test_dask import cluster  # noqa: F401
except pytest.skip.Exception:  # dask.distributed is not installed
    cluster = None

DEADLINE_S = 120


def _ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a script hands down


def _start(argv: list[str], mark: str, pause: str | None, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    flag = tmp_path / "paused"
    env = {**os.environ, "NETGRADE_TEST_MARK": mark}
    if pause:
        env["NETGRADE_PAUSE_AT"] = f"{pause}:{flag}"
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env, preexec_fn=_ignoring_sigint)
    return proc, flag


def _program_running(proc: subprocess.Popen, name: str) -> bool:
    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for k in kids:
        try:
            if any(name in part for part in k.cmdline()):
                return True
        except psutil.Error:
            continue
    return False


def _interrupt(proc: subprocess.Popen, sig: int, ready) -> tuple[str, str, list[psutil.Process]]:
    """Wait for ``ready()`` (with a deadline), send ``sig``; returns the output and the run's processes then."""
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, f"the awaited moment did not come in {DEADLINE_S} s"
            time.sleep(0.02)  # polling for a file or a process to appear, with a deadline
        family = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return stdout, stderr, family


def _assert_nothing_left(mark: str, family: list[psutil.Process]) -> None:
    assert _marked(mark) == [], "grading processes outlived the interrupted run"
    alive = [f"{p.pid}: {' '.join(p.cmdline())[:160]}" for p in family if _alive(p)]
    assert alive == [], "processes of the run outlived it"


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _code(sig: int) -> int:
    return 128 + sig


def _slow_sender(exported: Path, target: Path) -> None:
    """A correct udp-send that waits half a second first: its checks pass, and it can be caught running."""
    target.mkdir()
    text = (exported / "udp_send.py").read_text("utf-8")
    (target / "udp_send.py").write_text("import time\ntime.sleep(0.5)\n" + text, "utf-8")


def _batch_cmd(d: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "netgrade", "batch", str(d), "--out", str(out), "--program", "udp-send",
            "--jobs", "1", "--check-jobs", "1", *extra]  # checks in-process: no xdist start-up per grading


def _assert_consistent(out: Path) -> set[str]:
    """Every result.json parses; batch.json only beside its result.  Returns the recorded submissions."""
    for r in out.glob("*/result.json"):
        assert json.loads(r.read_text("utf-8"))["schema"] == "netgrade.result/1"
    assert list(out.rglob(".tmp-*")) == [], "a temporary file was left"
    done = set()
    for m in out.glob("*/batch.json"):
        assert (m.parent / "result.json").is_file(), f"{m} without its result"
        assert json.loads(m.read_text("utf-8"))["status"] == "graded"
        done.add(m.parent.name)
    return done


# (pause point or "running", signal, the submissions: "ok", "slow" or "mutant")
BATCH_MOMENTS = [
    pytest.param("discovered", signal.SIGTERM, ("ok", "ok"), id="before-grading-SIGTERM"),
    pytest.param("grader-started-1", signal.SIGINT, ("ok", "ok"), id="grader-starting-SIGINT"),
    pytest.param("running", signal.SIGTERM, ("slow", "ok"), id="mid-check-SIGTERM"),
    pytest.param("running", signal.SIGINT, ("ok", "slow"), id="mid-check-second-SIGINT"),
    pytest.param("stored", signal.SIGTERM, ("ok", "ok"), id="between-submissions-SIGTERM"),
    pytest.param("storing", signal.SIGINT, ("ok", "ok"), id="writing-results-SIGINT"),
    pytest.param("grader-started-2", signal.SIGTERM, ("mutant", "ok"), id="flaky-retry-SIGTERM"),
]


@pytest.mark.parametrize("moment,sig,kinds", BATCH_MOMENTS)
def test_batch_interrupted(tmp_path, exported, moment, sig, kinds):
    d = tmp_path / "in"
    d.mkdir()
    for i, kind in enumerate(kinds, 1):
        target = d / f"s{i}"
        if kind == "slow":
            _slow_sender(exported, target)
        elif kind == "mutant":  # fails a check: the flaky guard grades it again
            target.mkdir()
            shutil.copyfile(MUTANTS / "udp-send" / "gbk.py", target / "udp_send.py")
        else:
            shutil.copytree(exported, target)
    out = tmp_path / "out"
    mark = f"signals-{os.getpid()}-{time.monotonic_ns()}"
    proc, flag = _start(_batch_cmd(d, out), mark, None if moment == "running" else moment, tmp_path)
    if moment == "running":  # the slow program runs (and the submissions before it are recorded)
        before = [out / f"s{i}" / "batch.json" for i in range(1, kinds.index("slow") + 1)]
        ready = lambda: all(p.exists() for p in before) and _program_running(proc, "udp_send.py")  # noqa: E731
    else:
        ready = flag.exists
    stdout, stderr, family = _interrupt(proc, sig, ready)
    assert proc.returncode == _code(sig), (stdout, stderr)
    assert "interrupted" in stderr
    _assert_nothing_left(mark, family)
    done = _assert_consistent(out)
    expected_done = {"stored": {"s1"}, "storing": set()}.get(moment, set())
    if moment == "running" and kinds[0] != "slow":
        expected_done = {"s1"}  # s1 was recorded before s2's program ran
    assert done == expected_done, (stdout, stderr)
    if moment == "storing":  # its result was written, its record not: it is graded again
        assert (out / "s1" / "result.json").is_file()
    for i, kind in enumerate(kinds, 1):  # the slow one fixed (quicker to grade again; the count is the same)
        if kind == "slow":
            shutil.copyfile(exported / "udp_send.py", d / f"s{i}" / "udp_send.py")
    rest = subprocess.run(_batch_cmd(d, out, "--no-retry"), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert rest.returncode == 0, rest.stderr
    assert f"{2 - len(done)} graded; {len(done)} unchanged (cached)" in rest.stdout
    assert _assert_consistent(out) == {"s1", "s2"}


# ------------------------------------------------------------------ netgrade check

@pytest.mark.parametrize("moment,sig,jobs", [
    pytest.param("running", signal.SIGINT, "2", id="mid-check-xdist-SIGINT"),
    pytest.param("running", signal.SIGTERM, "1", id="mid-check-SIGTERM"),
    pytest.param("check-started", signal.SIGTERM, "1", id="before-grading-SIGTERM"),
])
def test_check_interrupted(tmp_path, exported, moment, sig, jobs):
    sub = tmp_path / "sub"
    _slow_sender(exported, sub)
    result = tmp_path / "r.json"
    mark = f"signals-{os.getpid()}-{time.monotonic_ns()}"
    argv = [sys.executable, "-m", "netgrade", "check", str(sub), "--program", "udp-send", "--json", str(result),
            "--jobs", jobs]
    proc, flag = _start(argv, mark, None if moment == "running" else moment, tmp_path)
    ready = (lambda: _program_running(proc, "udp_send.py")) if moment == "running" else flag.exists
    stdout, stderr, family = _interrupt(proc, sig, ready)
    assert proc.returncode == _code(sig), (stdout, stderr)
    assert "interrupted" in stderr
    data = json.loads(result.read_text("utf-8"))
    assert data["status"] == "error"
    assert data["message"] == ("terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (SIGINT)")
    _assert_nothing_left(mark, family)
    # no namespace left: every network namespace was held by a process of the run, now gone
    assert not [p for p in family if _alive(p)]


# ------------------------------------------------------------------ netgrade batch --dask

def _dask_workers(address: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "distributed.cli.dask_worker" in cmd and address in cmd:
            found.append(p)
    return found


def _graders_under(workers: list[psutil.Process], name: str) -> list[psutil.Process]:
    out = []
    for w in workers:
        try:
            kids = w.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for k in kids:
            try:
                if any(name in part for part in k.cmdline()) and _alive(k):
                    out.append(k)
            except psutil.Error:
                continue
    return out


@pytest.mark.skipif(cluster is None, reason="dask.distributed is not installed")
@pytest.mark.timeout(300)
def test_dask_batch_interrupted_stops_the_workers_graders(cluster, tmp_path, exported):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("s1", "s2"):  # programs that hang: only a stop reaching the workers ends their grading soon
        (d / name).mkdir()
        (d / name / "udp_send.py").write_text("import time\ntime.sleep(600)\n")
    out = tmp_path / "out"
    workers = _dask_workers(cluster)
    assert len(workers) == 2
    mark = f"signals-{os.getpid()}-{time.monotonic_ns()}"
    cmd = [sys.executable, "-m", "netgrade", "batch", str(d), "--out", str(out), "--program", "udp-send",
           "--dask", cluster, "--check-jobs", "1"]
    proc, _ = _start(cmd, mark, None, tmp_path)
    # a student program runs on a worker: grading is under way there
    stdout, stderr, _ = _interrupt(proc, signal.SIGINT, lambda: bool(_graders_under(workers, "udp_send.py")))
    assert proc.returncode == 130, (stdout, stderr)
    left = [" ".join(p.cmdline()) for p in _graders_under(workers, "netgrade.batch")]
    logs = "".join(f.read_text()[-3000:] for f in sorted((tmp_path / "dask-logs").glob("*.log")))
    assert left == [], f"a worker's grading process outlived the batch\n{logs}"
    assert _marked(mark) == []
    done = _assert_consistent(out)
    for name in ("s1", "s2"):  # fixed by the students: the resume grades what is missing
        shutil.copyfile(exported / "udp_send.py", d / name / "udp_send.py")
    rest = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rest.returncode == 0, rest.stderr
    assert f"{2 - len(done)} graded; {len(done)} unchanged (cached)" in rest.stdout
