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
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import grade, mutant_rounds, round_mismatches, round_submission, submission_with
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


@pytest.mark.parametrize("index", [0, 1])
def test_mutants_fail_their_lines_in_container_mode(full_image, tmp_path, index):
    client, _tag = full_image
    mutants = mutant_rounds()[index]
    sub, args, expected = round_submission(tmp_path, mutants)
    result, proc = grade(sub, *CONTAINER, *args, tmp=tmp_path / "r", timeout=900)
    assert result["status"] == "graded", result.get("message")
    assert result["runner"] == LABEL
    problems = round_mismatches(result, mutants, expected)
    assert not problems, problems
    assert _left_behind(client) == []


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
    if subprocess.run(["getent", "group", "docker"], capture_output=True).returncode != 0:
        pytest.skip("no docker group on this machine")
    nonroot.setup()
    subprocess.run(["usermod", "-aG", "docker", nonroot.USER], check=True)
    d = nonroot.shared_folder("container-mode-sample")
    env = {"NETGRADE_WHEELS": os.environ.get("NETGRADE_WHEELS", "")}  # the same image tag as root's
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
