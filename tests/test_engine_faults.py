"""The Docker engine stopped while a grading run uses it: ``error`` with the reason, never ``fail``.

The engine stopped here is never the shared one: each test grades against a
private ``dockerd`` (``privateengine.py``: its own socket, data, exec root,
pid file and containerd), made once for this module with the grading image
copied in from the shared engine, and removed at the end with all it made.

The moment is exact: with one pytest worker (``--jobs 1``), the grading run
waits at its ``PAUSE_AT``-th check (``NETGRADE_PAUSE_AT=docker-check-N``,
once that check has its containers and before any of its programs runs);
the test stops the engine, waits until dockerd (and its containerd) have
exited, and lets the check go on.  The checks before it were graded with a
working engine.

- SIGTERM: dockerd stops its containers as it shuts down.  The paused check
  and every later one need the engine (their containers are gone; a new pair
  cannot be made): ``error`` naming the engine, never ``fail``; exit 1; the
  result file is written; nothing of the run is left.
- SIGKILL: dockerd dies at once, its containers live on (their shims hold
  them), so every check is graded as usual.  What the grader cannot do is
  remove them through the engine: it stops their processes itself and says so
  in the result.
- In a batch, the submission is recorded as a grader error (not a grade), its
  failing checks are tried again at once (the retry cannot reach the engine
  either: its note says so), and the next batch, with the engine back, grades
  it again in full and removes the dead run's containers.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest
from conftest import submission_with
from dockerenv import require_docker
from privateengine import (EngineUnavailable, PrivateEngine, cgroup_folders, namespace_holders, netns_cookie,
                           pair_files)
from test_faults import ROOT_ONLY, Grader, assert_clean, statuses

from netgrade.docker import engine as engine_mod

PAUSE_AT = 3  # the two checks before it are graded while the engine runs
CHECKS = 9    # udp-echo-server's checks
# one private engine for the module, in one xdist worker: several engines at once (one per worker) starve each
# other on two cores, and the tests share the module's engine anyway
pytestmark = [ROOT_ONLY, pytest.mark.xdist_group("private-docker-engine")]


@pytest.fixture(scope="module")
def private_engine(tmp_path_factory):
    shared, tag = require_docker()  # the shared engine, for the grading image (skips or fails without one)
    eng = PrivateEngine(tmp_path_factory.mktemp("engine"))
    try:
        eng.start()
        eng.load_image(shared, tag)
    except EngineUnavailable as exc:
        eng.remove()
        if os.environ.get("NETGRADE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"NETGRADE_REQUIRE_DOCKER=1 but a private Docker engine cannot be started: {exc}")
        pytest.skip(f"a private Docker engine cannot be started here: {exc}")
    yield eng
    eng.remove()
    left = [f"process {p.pid}" for p in eng.processes()] + eng.mounts()
    assert not left and not eng.run_dir.exists() and not eng.data.exists(), f"the private engine left {left}"


@pytest.fixture
def engine(private_engine):
    """The private engine, running (a test before may have stopped it)."""
    if not private_engine.running():
        private_engine.start()
    return private_engine


def wait_for_file(path: Path, g: Grader, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if g.proc.poll() is not None:
            out, err = g.proc.communicate()
            raise AssertionError(f"the grader ended (exit {g.proc.returncode}) before {path.name}: {err[-2000:]}")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)  # a file another process makes: no event to wait on


def stop_engine_at_the_pause(engine: PrivateEngine, g: Grader, flag: Path, sig: int) -> list[dict]:
    """Wait for the pause, stop the engine with ``sig``, let grading go on; returns the run's pairs."""
    wait_for_file(flag, g)
    pairs = pair_files(g.tmpdir)
    assert pairs, f"no container pair announced under {g.tmpdir}"
    for p in pairs:  # the namespaces the engine gave the run, to look for afterwards
        path = f"/proc/{p['grader_pid']}/ns/net"
        p["netns"] = (os.stat(path).st_ino, netns_cookie(path))
        assert p["netns"][1] is not None, "cannot read the namespace's cookie (Linux 5.14+)"
    engine.stop(sig)
    flag.unlink()  # the check goes on
    return pairs


def grade_while_the_engine_stops(engine: PrivateEngine, tmp_path: Path, refs: Path, sig: int, *programs: str,
                                 point: str = f"docker-check-{PAUSE_AT}"):
    """Grade udp-echo-server (and ``programs``, missing from the submission); the engine stops at ``point``."""
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py"})
    flag = tmp_path / "paused"
    g = Grader(tmp_path, env={"DOCKER_HOST": engine.host, "NETGRADE_PAUSE_AT": f"{point}:{flag}"})
    g.start("check", str(sub), "--runner", "docker", "--jobs", "1", "--program", "udp-echo-server",
            *[a for p in programs for a in ("--program", p)], "--json", str(g.out))
    pairs = stop_engine_at_the_pause(engine, g, flag, sig)
    result, done = g.finish(timeout=120)
    return g, result, done, pairs


def assert_containers_gone_once_the_engine_is_back(engine: PrivateEngine, pairs: list[dict]) -> None:
    """With the engine running again, the dead run's containers are removed as any dead grader's are
    (``remove_stale``, which every grading run does first), and nothing of them remains."""
    if not engine.running():
        engine.start()
    client = engine.client()
    try:
        ids = {p[k] for p in pairs for k in ("grader", "student")}
        mine = [c for c in client.containers.list(all=True) if c.id in ids]
        assert mine and all(c.status != "running" for c in mine), [(c.short_id, c.status) for c in mine]
        assert engine_mod.remove_stale(client) >= len(ids)
        assert not [c for c in client.containers.list(all=True) if c.id in ids]
    finally:
        client.close()
    for p in pairs:
        assert namespace_holders(*p["netns"]) == [], p
        for cid in (p["grader"], p["student"]):
            assert cgroup_folders(cid) == []


def test_engine_stopped_mid_check_is_error_never_fail(engine, tmp_path, exported):
    g, result, done, pairs = grade_while_the_engine_stops(engine, tmp_path, exported, signal.SIGTERM, "udp-recv")
    got = statuses(result)
    echo = [v for k, v in got.items() if k.startswith("udp-echo-server/")]
    assert len(echo) == CHECKS
    assert [st for st, _ in echo] == ["pass"] * (PAUSE_AT - 1) + ["error"] * (CHECKS - PAUSE_AT + 1), got
    for st, msg in echo[PAUSE_AT - 1:]:
        assert "the Docker engine stopped answering" in msg and engine.host in msg, msg
        assert "not the program's fault" in msg, msg
    assert all(st == "skip" for k, (st, _) in got.items() if k.startswith("udp-recv/")), got  # missing: as usual
    assert result["status"] == "graded" and done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert any("the Docker engine stopped answering during grading" in n and "none of them still runs" in n
               for n in result["notices"]), result["notices"]
    assert_clean(g)
    for p in pairs:  # the engine stopped them; no process holds their network
        assert not engine_mod.container_alive(p["grader"], p["grader_pid"])
        assert namespace_holders(*p["netns"]) == [], p
    assert_containers_gone_once_the_engine_is_back(engine, pairs)


def test_engine_stopped_while_a_program_runs_is_error_never_fail(engine, tmp_path, exported):
    """The engine stops while the check's server runs: the server (in a pid namespace of the run's own)
    goes on and the check may well see it answer, but its containers are gone when it ends: ``error``,
    with what it saw."""
    g, result, done, pairs = grade_while_the_engine_stops(engine, tmp_path, exported, signal.SIGTERM,
                                                          point=f"docker-run-{PAUSE_AT}")
    echo = [v for k, v in statuses(result).items() if k.startswith("udp-echo-server/")]
    # the checks run in an order of their own (the longest first), not the result's: the one that was
    # running is told by its message
    def was_running(msg: str) -> bool:
        # the engine may take the run's cgroup away before the launcher joins it: then the sandbox's own words
        # (the run could not be set up) name the fault; either way a grader error, never the program's fail
        return (msg.startswith("grader error: the Docker engine stopped answering during the check")
                or msg.startswith("grader error: the sandbox could not start") and "join cgroup" in msg)
    touched = [msg for st, msg in echo if st == "error" and was_running(msg)]
    assert len(touched) == 1, echo
    assert "so this check could not be graded; not the program's fault (the check saw: " in touched[0], touched
    rest = [(st, msg) for st, msg in echo if msg != touched[0]]
    assert sum(st == "pass" for st, _ in rest) >= 1, echo  # graded before the engine stopped
    assert all(st == "pass" or st == "error" and "the Docker engine stopped answering" in msg
               for st, msg in rest), echo
    assert len(echo) == CHECKS, echo
    assert done.returncode == 1
    assert_clean(g)
    assert_containers_gone_once_the_engine_is_back(engine, pairs)


def test_engine_killed_mid_check_grades_as_usual_and_stops_its_containers(engine, tmp_path, exported):
    g, result, done, pairs = grade_while_the_engine_stops(engine, tmp_path, exported, signal.SIGKILL)
    got = statuses(result)
    assert [st for k, (st, _) in got.items() if k.startswith("udp-echo-server/")] == ["pass"] * CHECKS, got
    assert done.returncode == 0
    assert any("the Docker engine stopped answering during grading" in n
               and "netgrade stopped the processes of 2 of them itself" in n for n in result["notices"]), \
        result["notices"]
    assert_clean(g)
    for p in pairs:
        for cid, pid in ((p["grader"], p["grader_pid"]), (p["student"], p["student_pid"])):
            assert not engine_mod.container_alive(cid, pid), f"container {cid[:12]} still runs"
        # the dead engine's own record of the namespace (a bind mount in its exec root) is all that is left
        held = [h for h in namespace_holders(*p["netns"]) if str(engine.run_dir) not in h]
        assert held == [], held
    assert_containers_gone_once_the_engine_is_back(engine, pairs)


def test_engine_stopped_mid_batch_is_a_grader_error_graded_again(engine, tmp_path, exported):
    klass = tmp_path / "class"
    (klass / "s1").mkdir(parents=True)
    (klass / "s1" / "udp_echo_server.py").write_bytes((exported / "udp_echo_server.py").read_bytes())
    out = tmp_path / "graded"
    args = ("batch", str(klass), "--out", str(out), "--runner", "docker", "--program", "udp-echo-server",
            "--jobs", "1", "--check-jobs", "1", "--no-similarity")
    flag = tmp_path / "paused"
    g = Grader(tmp_path, env={"DOCKER_HOST": engine.host, "NETGRADE_PAUSE_AT": f"docker-check-{PAUSE_AT}:{flag}"})
    g.start(*args)
    pairs = stop_engine_at_the_pause(engine, g, flag, signal.SIGTERM)
    _, err = g.proc.communicate(timeout=120)
    assert g.proc.returncode == 1, err[-2000:]
    meta = json.loads((out / "s1" / "batch.json").read_text("utf-8"))
    result = json.loads((out / "s1" / "result.json").read_text("utf-8"))
    got = statuses(result)
    errors = sorted(k for k, (st, _) in got.items() if st == "error")
    assert [st for st, _ in got.values()].count("pass") == PAUSE_AT - 1 and len(errors) == CHECKS - PAUSE_AT + 1, got
    assert all("the Docker engine stopped answering" in got[k][1] for k in errors), got
    assert meta["status"] == "error", meta
    assert meta["message"].startswith(f"grader error in {len(errors)} check(s)"), meta["message"]
    assert "the Docker engine stopped answering" in meta["message"]
    assert sorted(meta["retried"]) == errors  # tried again at once, in a new grading process ...
    assert "the retry of failing checks could not run: no Docker engine answers at" in meta["retry_note"], meta
    with open(out / "gradebook.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["name"] == "s1")
    assert row["status"].startswith("error: grader error in"), row
    assert_clean(g)

    # ... and, with the engine back, by the next batch: in full, and the dead run's containers are removed
    engine.start()
    g2 = Grader(tmp_path, env={"DOCKER_HOST": engine.host})
    g2.start(*args)
    _, err = g2.proc.communicate(timeout=180)
    assert g2.proc.returncode == 0, err[-2000:]
    meta = json.loads((out / "s1" / "batch.json").read_text("utf-8"))
    result = json.loads((out / "s1" / "result.json").read_text("utf-8"))
    assert meta["status"] == "graded" and not meta["retried"], meta
    assert result["score"] == result["max_score"] > 0, statuses(result)
    client = engine.client()
    try:
        ids = {p[k] for p in pairs for k in ("grader", "student")}
        assert not [c.short_id for c in client.containers.list(all=True) if c.id in ids]
    finally:
        client.close()
    assert_clean(g2)
