"""The Docker runner's container mode: the whole grading inside one container of ``netgrade-full``.

Real engine, real containers (dockerenv.py says when these skip).  As root with
the mode forced, the references get full marks and mutants fail exactly the
lines they declare; as the non-root user ``ngtest`` in the ``docker`` group
(nonroot.py), plain ``--runner docker`` picks this mode by itself; the
container has no network, only the sandbox's capabilities and no bind mount,
and none is left behind, Ctrl-C included.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from conftest import fork_bomb, grade, memory_hog, mutant_rounds, round_mismatches, round_submission, submission_with
from dockerenv import netgrade_containers, require_docker
from test_mutants import _pack_file

import nonroot

LABEL = "docker (grader in a container)"
CONTAINER = ("--runner", "docker", "--docker-mode", "container")
pytestmark = pytest.mark.xdist_group("docker-container-mode")  # one image build, one worker


@pytest.fixture(scope="module")
def full_image():
    client, _tag = require_docker()
    from netgrade.docker import image
    return client, image.ensure_full(client, log=lambda m: None)


def _left_behind(client) -> list:
    """Grading containers whose grader has ended (each run removes its own at the end)."""
    from netgrade.docker.engine import _alive
    return [c for c in netgrade_containers(client) if (c.attrs.get("Labels") or {}).get("netgrade.role") == "grading"
            and not _alive((c.attrs.get("Labels") or {}).get("netgrade.owner", ""))]


def test_direct_mode_is_not_chosen_for_a_remote_engine(monkeypatch):
    from netgrade.docker import incontainer
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.1:2375")  # never contacted: the address decides
    if os.geteuid() == 0:
        assert "remote (tcp://192.0.2.1:2375)" in incontainer.direct_problem(None)
    assert incontainer.choose(None, None)[0] == "container"
    assert incontainer.choose(None, "direct") == ("direct", "--docker-mode direct")


def test_references_get_full_marks_in_container_mode(full_image, exported, tmp_path):
    client, _tag = full_image
    html = tmp_path / "report.html"
    result, proc = grade(exported, *CONTAINER, "--html", str(html), tmp=tmp_path / "c", timeout=900)
    assert result["status"] == "graded", result.get("message")
    assert result["runner"] == LABEL
    bad = {f"{p['id']}/{c['id']}": c["message"][:200] for p in result["programs"] for c in p["checks"]
           if c["status"] != "pass"}
    assert not bad, bad
    assert result["score"] == result["max_score"] > 0, proc.stdout[-3000:]
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the full sandbox inside: no fallback to a shared loopback
    assert not any("unavailable" in n for n in result["notices"]), result["notices"]
    assert f"runner {LABEL}" in proc.stderr and "--docker-mode container" in proc.stderr, proc.stderr
    assert "score" in proc.stdout  # the table, passed on from inside
    assert html.stat().st_size > 10_000 and LABEL in html.read_text("utf-8")  # came out through the API
    assert _left_behind(client) == []


@pytest.mark.timeout(1800)  # every mutant: as long as tests/test_mutants.py's rounds together
def test_every_mutant_fails_its_lines_in_container_mode(full_image, tmp_path):
    """Every mutant round (tests/test_mutants.py's, there with the local runner) graded in container mode:
    all rounds as one ``netgrade batch``, so the container and its start are paid once, not per round.

    Each round's submission grades every program (a round's absent programs are missing, at no cost);
    the flaky guard is off, so each verdict is a grading's own, as the local test's are.  A round that
    differs from its declarations is graded once more, in a second batch (a second container): on a
    machine loaded many times over its cores a timed check (a client given 3 s to connect) can miss
    once; the test fails when a round differs both times, and says which differed only once.
    """
    client, _tag = full_image
    klass, rounds = tmp_path / "rounds", mutant_rounds()
    klass.mkdir()
    expected = {}
    for i, mutants in enumerate(rounds):
        sub, _args, expected[i] = round_submission(tmp_path / f"r{i}", mutants)
        sub.rename(klass / f"round{i:02d}")

    def graded(folder: Path, out: Path, indexes) -> dict[int, list[str]]:
        proc = subprocess.run([sys.executable, "-m", "netgrade", "batch", str(folder), "--out", str(out),
                               *CONTAINER, "--no-retry", "--no-similarity"], capture_output=True, text=True,
                              timeout=1700)
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
        problems = {}
        for i in indexes:
            result = json.loads((out / f"round{i:02d}" / "result.json").read_text("utf-8"))
            if result["status"] != "graded" or result["runner"] != LABEL:
                problems[i] = [f"{result['status']} by {result['runner']}: {result.get('message')}"]
            else:
                problems[i] = round_mismatches(result, rounds[i], expected[i])
        return {i: p for i, p in problems.items() if p}

    first = graded(klass, tmp_path / "out", range(len(rounds)))
    again = {}
    if first:
        klass2 = tmp_path / "again"
        klass2.mkdir()
        for i in first:
            (klass / f"round{i:02d}").rename(klass2 / f"round{i:02d}")
        again = graded(klass2, tmp_path / "out2", first)
    assert not again, "\n".join(f"round {i}: {p}" for i, ps in again.items() for p in ps)
    if first:
        warnings.warn("differed once, as declared when graded again: "
                      + "; ".join(f"round {i}: {p}" for i, ps in first.items() for p in ps), stacklevel=1)
    assert _left_behind(client) == []


def test_memory_hog_and_fork_bomb_are_contained_in_container_mode(full_image, tmp_path):
    """Inside the container each student run has a cgroup of its own with the pack's limits: a server whose
    processes outgrow its memory is killed by it and fails; a client that forks without end is stopped at
    the process limit and fails; the grader lives on and grades a correct program beside them in full."""
    from netgrade.pack import load
    from netgrade.reffiles import export_files
    limits = load().limits
    bomb = fork_bomb(then="import time\ntime.sleep(30)\n")
    recv = _pack_file("udp-recv")
    sub = submission_with(tmp_path, {_pack_file("udp-echo-server"): memory_hog(limits.memory_mb),
                                     _pack_file("udp-send"): bomb, recv: export_files()[recv]})
    patient = tmp_path / "patient.toml"  # on a loaded machine, growing past the limit takes the kernel a while
    patient.write_text("[limits]\nready_s = 20\n")
    result, proc = grade(sub, *CONTAINER, "--program", "udp-echo-server", "--program", "udp-send",
                         "--program", "udp-recv", "--pack", str(patient), tmp=tmp_path / "r", timeout=900)
    assert result["status"] == "graded" and result["runner"] == LABEL, result.get("message")
    by_id = {p["id"]: p for p in result["programs"]}
    errors = [f"{p}/{c['id']}: {c['message'][:200]}" for p in by_id for c in by_id[p]["checks"]
              if c["status"] == "error"]
    assert not errors, errors
    assert not any("cgroup" in n for n in result["notices"]), result["notices"]
    server = json.dumps(by_id["udp-echo-server"])
    assert f"killed: memory limit {limits.memory_mb} MiB" in server, proc.stdout[-2000:]
    assert by_id["udp-echo-server"]["score"] == 0
    client = json.dumps(by_id["udp-send"])
    refused = [int(n) for n in re.findall(r"fork refused after (\d+)", client)]
    assert refused and max(refused) < limits.processes, client[:2000]
    assert by_id["udp-send"]["score"] == 0
    assert by_id["udp-recv"]["score"] == by_id["udp-recv"]["max_score"] > 0, json.dumps(by_id["udp-recv"])[:2000]


def _grading_containers_of(client, owner: int) -> list:
    return [c for c in netgrade_containers(client)
            if (c.attrs.get("Labels") or {}).get("netgrade.owner") == str(owner)]


def test_container_is_confined_and_ctrl_c_leaves_none(full_image, tmp_path):
    client, _tag = full_image
    from netgrade.docker.incontainer import CAPABILITIES
    sub = submission_with(tmp_path, {_pack_file("udp-echo-server"): "import time\ntime.sleep(600)\n"})
    proc = subprocess.Popen([sys.executable, "-m", "netgrade", "check", str(sub), *CONTAINER,
                             "--program", "udp-echo-server", "--json", str(tmp_path / "r.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, found = time.monotonic() + 120, []
        while not found and time.monotonic() < deadline:
            found = [c for c in _grading_containers_of(client, proc.pid)]
            time.sleep(0.1)  # the engine pushes no event we could wait on cheaply
        assert found, "no grading container appeared"
        c = client.containers.get(found[0].id)
        host = c.attrs["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["CapDrop"] == ["ALL"] and sorted(host["CapAdd"]) == sorted(CAPABILITIES)
        # its own limits, and a cgroup namespace where the runs' cgroups are made
        from netgrade.docker.incontainer import container_limits
        from netgrade.pack import load
        want = container_limits(load().limits)
        assert host["Memory"] == int(want["mem_limit"][:-1]) * 1024 * 1024, host["Memory"]
        assert host["PidsLimit"] == want["pids_limit"] and host["CgroupnsMode"] == "private", host
        assert not host.get("Binds") and not c.attrs.get("Mounts"), (host.get("Binds"), c.attrs.get("Mounts"))
        assert c.attrs["Config"]["Labels"]["netgrade.role"] == "grading"
        # inside: only a loopback
        deadline = time.monotonic() + 60
        while c.status != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
            c.reload()
        links = c.exec_run(["cat", "/proc/net/dev"]).output.decode()
        assert [line.split(":")[0].strip() for line in links.splitlines()[2:]] == ["lo"], links
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, proc.stderr.read()[-2000:]
    assert _grading_containers_of(client, proc.pid) == []
    result = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert result["status"] == "error" and "interrupted" in result["message"]


def test_non_root_docker_group_user_gets_container_mode(full_image):
    client, tag = full_image
    env = nonroot.join_docker_group()
    d = nonroot.shared_folder("container-mode-sample")
    r = nonroot.run_as_user(["netgrade reference export sample >/dev/null && "
                             "netgrade check sample --runner docker --json r.json"],
                            cwd=str(d), shell=True, timeout=900, env=env)
    path = Path(d, "r.json")
    assert path.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    result = json.loads(path.read_text("utf-8"))
    assert result["runner"] == LABEL, result.get("message")
    assert "netgrade is not root" in r.stderr, r.stderr[-2000:]
    assert f"building {tag}" not in r.stderr  # root's image: the same tag for the same code
    bad = {f"{p['id']}/{c['id']}": c["message"][:200] for p in result["programs"] for c in p["checks"]
           if c["status"] != "pass"}
    assert not bad, bad
    assert result["score"] == result["max_score"] > 0
    assert r.returncode == 0, r.stderr[-2000:]
    assert _left_behind(client) == []
