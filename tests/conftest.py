"""Shared helpers for testing the grader itself.

Grading runs as a real ``netgrade check`` subprocess (real processes, real
sockets, real namespaces) and the tests read its ``--json`` result.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = Path(__file__).resolve().parent / "mutants"


def netgrade(*args: str, timeout: float = 300, cwd: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netgrade", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, **(env or {})})


def grade(path: str | Path, *args: str, tmp: Path | None = None, timeout: float = 300) -> tuple[dict, subprocess.CompletedProcess]:
    """Grade ``path``; returns (result JSON, completed process)."""
    out = Path(tmp or path).parent / f"result-{os.getpid()}-{abs(hash(str(path))) % 10**8}.json"
    proc = netgrade("check", str(path), "--json", str(out), *args, timeout=timeout)
    try:
        data = json.loads(out.read_text("utf-8"))
    except FileNotFoundError:
        raise AssertionError(f"no result file; exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}") from None
    finally:
        out.unlink(missing_ok=True)
    return data, proc


def checks_by_status(result: dict, levels=("must", "should")) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in result["programs"]:
        for c in p["checks"]:
            if c["level"] in levels:
                out.setdefault(c["status"], set()).add(f"{p['id']}/{c['id']}")
    return out


@pytest.fixture(autouse=True)
def _end_stray_graders():
    """After each test: end every grading subprocess a test started and did not finish (tests/test_faults.py's
    ``Grader``), e.g. one left waiting at a pause point when the test failed before releasing it."""
    yield
    faults = sys.modules.get("test_faults")
    if faults is not None:
        faults.Grader.end_all()


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Path:
    """The reference programs exported as a submission (full marks expected)."""
    d = tmp_path_factory.mktemp("exported") / "refs"
    proc = netgrade("reference", "export", str(d))
    assert proc.returncode == 0, proc.stderr
    return d


def submission_with(tmp: Path, files: dict[str, str | bytes | Path]) -> Path:
    """A submission folder holding ``files`` (name -> text, bytes or a file to copy)."""
    d = tmp / "submission"
    d.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = d / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, "utf-8")
    return d


@pytest.fixture(params=["local", "docker"])
def runner(request, tmp_path):
    """A runner of each kind, for tests that open sandboxes themselves: the local runner, and the Docker
    runner (skipped, saying why, where no engine answers); no container may be left behind."""
    import uuid

    from netgrade.pack import load
    from netgrade.runner import LocalRunner, make_workbase
    if request.param == "docker":
        from dockerenv import netgrade_containers, require_docker

        from netgrade.docker.runner import DockerRunner
        client, tag = require_docker()
        pack = load()
        run_id = f"test-{uuid.uuid4().hex[:8]}"
        r = DockerRunner(make_workbase(str(tmp_path)), tag, run_id, os.getpid(), pack.limits, pack.lab_addresses)

        def done():
            r.close()
            assert netgrade_containers(client, run_id) == [], "containers left behind"
        request.addfinalizer(done)
        return r
    pack = load()
    r = LocalRunner(make_workbase(str(tmp_path)), pack.limits, pack.lab_addresses)
    request.addfinalizer(r.close)
    return r


# ------------------------------------------------------------------ mutants in rounds (other runners, other users)

def mutant_rounds() -> list[list[Path]]:
    """Every mutant once: round i holds the i-th mutant of each program (one submission per round)."""
    by_program: dict[str, list[Path]] = {}
    for p in sorted(MUTANTS.glob("*/*.py")):
        if not p.name.startswith("_"):
            by_program.setdefault(p.parent.name, []).append(p)
    n = max(len(v) for v in by_program.values())
    return [[v[i] for v in by_program.values() if i < len(v)] for i in range(n)]


def round_submission(tmp: Path, mutants: list[Path]) -> tuple[Path, list[str], dict[str, set[str]]]:
    """(submission folder, netgrade check arguments, {program: the lines its mutant declares it fails})."""
    from test_mutants import _declared, _pack_file
    files, args, expected = {}, [], {}
    for m in mutants:
        pid = m.parent.name
        fails, runs, file = _declared(m)
        files[file or _pack_file(pid)] = m
        args += ["--program", pid] + [a for r in runs for a in ("--run", f"{pid}={r}")]
        expected[pid] = fails
    return submission_with(tmp, files), args, expected


def round_mismatches(result: dict, mutants: list[Path], expected: dict[str, set[str]]) -> list[str]:
    """What differs from the declarations: grader errors, and each mutant whose failing lines are not its own."""
    problems = [f"grader error {p['id']}/{c['id']}: {c['message'][:300]}" for p in result["programs"]
                for c in p["checks"] if c["status"] == "error"]
    failing = checks_by_status(result).get("fail", set())
    checks = {f"{p['id']}/{c['id']}": c for p in result["programs"] for c in p["checks"]}

    def seen(key: str) -> str:
        """What a check that failed unexpectedly said, or what one that should have failed saw."""
        c = checks.get(key)
        if c is None:
            return "not run"
        if c["status"] == "fail":
            return c["message"][:300]
        events = (c.get("evidence") or {}).get("events", [])
        return f"{c['status']}, {c.get('duration_s', 0):.2f} s, evidence: " + " | ".join(
            f"{e.get('t', 0):.2f} {e.get('kind')} {e.get('who', '')} {str(e.get('text', ''))[:60]}"
            for e in events[-12:])
    for m in mutants:
        pid = m.parent.name
        got = {k for k in failing if k.startswith(pid + "/")}
        if got != expected[pid]:
            why = "".join(f"; {k}: {seen(k)}" for k in sorted(got ^ expected[pid]))
            problems.append(f"{pid}/{m.name}: expected {sorted(expected[pid])}, failed {sorted(got)}{why}")
    return problems


# ------------------------------------------------------------------ hostile programs and interrupted batches

def memory_hog(memory_mb: int) -> str:
    """A program of five processes, each under its address-space limit (a third of ``memory_mb``, written,
    so really resident), together over ``memory_mb``: only a cgroup holding the run stops it."""
    each = memory_mb // 3
    return f"""
import os, time
for i in range(4):
    if os.fork() == 0:
        block = b"x" * ({each} * 1024 * 1024)   # written, so really resident
        time.sleep(30)
        os._exit(0)
block = b"y" * ({each} * 1024 * 1024)
time.sleep(30)
"""


def fork_bomb(then: str = "") -> str:
    """A program that forks children (each asleep for 30 s) until the fork is refused, prints
    ``fork refused after N``, then runs ``then`` (unindented source)."""
    return """
import os
n = 0
try:
    while n < 10000:
        if os.fork() == 0:
            import time
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as e:
    print("fork refused after", n, flush=True)
""" + then


def wait_for_pause(proc: subprocess.Popen, paused: Path, timeout: float) -> None:
    """Wait until ``proc`` (started with NETGRADE_PAUSE_AT=POINT:``paused``) has reached its pause point."""
    deadline = time.monotonic() + timeout
    while not paused.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the pause point was not reached in {timeout:g} s"
        time.sleep(0.05)  # polling a file's appearance, with a deadline
