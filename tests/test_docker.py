"""The Docker runner: same verdicts as the local runner, containment, cleanup, clear errors.

Real engine, real containers (see dockerenv.py for when these skip).  The
hostile-program tests of tests/test_sandbox.py run on the Docker runner too.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import (grade, memory_hog, mutant_rounds, netgrade, round_mismatches, round_submission,
                      submission_with)
from dockerenv import netgrade_containers, require_docker
from test_mutants import _pack_file


@pytest.fixture
def docker_client():
    client, _tag = require_docker()
    return client


def _statuses(result: dict) -> dict[str, str]:
    return {f"{p['id']}/{c['id']}": c["status"] for p in result["programs"] for c in p["checks"]}


def test_references_same_verdicts_as_local(docker_client, exported, tmp_path):
    local, _ = grade(exported, tmp=tmp_path / "l")
    docker, proc = grade(exported, "--runner", "docker", tmp=tmp_path / "d")
    assert docker["status"] == "graded", docker.get("message")
    assert docker["runner"] == "docker"
    assert docker["score"] == docker["max_score"] > 0, proc.stdout[-3000:]
    assert _statuses(docker) == _statuses(local)


VARIANTS = Path(__file__).resolve().parent / "variants"
# Programs that use socket.gethostname(): a server that binds it and a client that sends or connects
# to it, UDP and TCP (tests/variants/), and the seed notes' own chat pair (000 #1 and #2), unmodified.
HOSTNAME_VARIANTS = {
    "udp-echo-server": VARIANTS / "udp-echo-server" / "binds_hostname.py",
    "udp-echo-client": VARIANTS / "udp-echo-client" / "hostname.py",
    "tcp-thanks-server": VARIANTS / "tcp-thanks-server" / "binds_hostname.py",
    "tcp-thanks-client": VARIANTS / "tcp-thanks-client" / "hostname.py",
}
HOSTNAME_SEEDS = {"tcp-chat-server": "000 #1", "tcp-chat-client": "000 #2"}


def _seed_code(source: str) -> str:
    import json
    seeds = json.loads((Path(__file__).resolve().parent.parent / "harness/packs/seed_programs.json").read_text("utf-8"))
    code = next(s["code"] for s in seeds if s["source"] == source)
    assert "socket.gethostname()" in code
    return code


def _gethostname_submission(tmp_path: Path) -> tuple[Path, list[str]]:
    files = {_pack_file(pid): path for pid, path in HOSTNAME_VARIANTS.items()}
    files.update({_pack_file(pid): _seed_code(src) for pid, src in HOSTNAME_SEEDS.items()})
    args = [a for pid in (*HOSTNAME_VARIANTS, *HOSTNAME_SEEDS) for a in ("--program", pid)]
    return submission_with(tmp_path, files), args


def _assert_gethostname_verdicts(local: dict, docker: dict, proc, levels=("must", "should", "extra")) -> None:
    assert docker["status"] == "graded", docker.get("message")
    assert "gaierror" not in repr(docker), proc.stdout[-3000:]
    assert _statuses(docker) == _statuses(local)
    for result in (local, docker):
        by = {p["id"]: p for p in result["programs"]}
        for pid in HOSTNAME_VARIANTS:  # every check of these levels (extra: address, interop)
            got = {c["status"] for c in by[pid]["checks"] if c["level"] in levels}
            assert got == {"pass"}, (result["runner"], pid, by[pid]["checks"])
        for pid in ("udp-echo-server", "tcp-thanks-server", "tcp-chat-server"):
            assert next(c for c in by[pid]["checks"] if c["id"] == "address")["status"] == "pass"
        # the seeds' chat pair converses (its should-level faults are its own, under both runners)
        for pid in HOSTNAME_SEEDS:
            assert {c["status"] for c in by[pid]["checks"] if c["level"] == "must"} == {"pass"}, (result["runner"], pid)


def test_gethostname_programs_same_verdicts_as_local(docker_client, tmp_path):
    """socket.gethostname() resolves in the containers, to an address the grader's peer reaches.

    Docker names a container with no network after its id, which its
    /etc/hosts does not list: these programs died there with "Temporary
    failure in name resolution".  Now every check gets the local runner's
    verdict, the variants full marks with both runners.
    """
    sub, args = _gethostname_submission(tmp_path)
    local, _ = grade(sub, *args, tmp=tmp_path / "l")
    docker, proc = grade(sub, "--runner", "docker", *args, tmp=tmp_path / "d")
    _assert_gethostname_verdicts(local, docker, proc)


LAN_HOST, LAN_ADDRESS = "ng-lab-host", "10.20.30.40"


def test_gethostname_on_a_lan_address_same_verdicts_as_local(docker_client, tmp_path):
    """Where the machine's name resolves to a LAN address (as on many lab machines), not loopback.

    The grader runs in UTS and mount namespaces of its own, named ng-lab-host,
    with an /etc/hosts (bound over the machine's, in that mount namespace only)
    that gives the name 10.20.30.40: no DNS is asked, nothing changes outside.
    Both runners put that address on the sandbox's loopback only (it exists
    nowhere else), and the programs get the same verdicts with each.
    """
    sub, args = _gethostname_submission(tmp_path)
    hosts = tmp_path / "hosts"
    hosts.write_text(Path("/etc/hosts").read_text() + f"\n{LAN_ADDRESS} {LAN_HOST}\n")

    def grade_as_lan_host(*extra: str) -> tuple[dict, subprocess.CompletedProcess]:
        out = tmp_path / f"result-{len(extra)}.json"
        script = 'hostname "$1" && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"'
        proc = subprocess.run(["unshare", "--uts", "--mount", "--propagation", "private", "--", "sh", "-c", script,
                               "sh", LAN_HOST, str(hosts), sys.executable, "-m", "netgrade", "check", str(sub),
                               "--json", str(out), *extra, *args], capture_output=True, text=True, timeout=600)
        assert out.exists(), proc.stderr
        return json.loads(out.read_text("utf-8")), proc

    local, lproc = grade_as_lan_host()
    docker, proc = grade_as_lan_host("--runner", "docker")
    # must, should and the address check pass with both runners; the extra interop checks of the two
    # servers do not with either (our reference client sends to 127.0.0.1, where a server bound to the
    # LAN address does not listen): the same verdict, an open gap of those checks, not of a runner
    _assert_gethostname_verdicts(local, docker, proc, levels=("must", "should"))
    for result in (local, docker):  # the LAN address really was the one bound and reached
        assert f"{LAN_ADDRESS} added to the sandbox's loopback" in json.dumps(result), result["runner"]


@pytest.mark.parametrize("index", range(len(mutant_rounds())), ids=lambda i: f"round{i}")
def test_mutants_same_verdicts_as_local(docker_client, index, tmp_path):
    """Each mutant fails, under Docker, exactly the lines it fails under the local runner.

    tests/test_mutants.py proves, with the local runner, that every mutant
    fails exactly its declared lines; here the same declarations must hold
    with --runner docker, several programs' mutants graded in one submission.
    """
    mutants = mutant_rounds()[index]
    sub, args, expected = round_submission(tmp_path, mutants)
    result, _ = grade(sub, "--runner", "docker", *args, tmp=tmp_path)
    assert result["status"] == "graded", result.get("message")
    assert round_mismatches(result, mutants, expected) == []


def test_memory_limit_is_reported_and_contained(docker_client, tmp_path):
    """A server whose processes outgrow the pack's memory is killed by its cgroup, and the check says so."""
    from netgrade.pack import load
    mb = load().limits.memory_mb
    sub = submission_with(tmp_path, {_pack_file("udp-echo-server"): memory_hog(mb)})
    # a patient pack: on a loaded machine, growing past the limit takes the kernel a few seconds
    patient = tmp_path / "patient.toml"
    patient.write_text("[limits]\nready_s = 20\n")
    result, proc = grade(sub, "--runner", "docker", "--program", "udp-echo-server", "--pack", str(patient),
                         tmp=tmp_path)
    assert result["status"] == "graded", result.get("message")
    text = repr(result["programs"][0])
    assert f"killed: memory limit {mb} MiB" in text, proc.stdout[-2000:]
    assert result["programs"][0]["score"] == 0


def test_hostile_submission_cannot_change_the_grade(docker_client, tmp_path):
    """Forged result files, fake report markup, escapes and kill attempts change nothing."""
    forger = r"""
import glob, json, os, signal, socket
for path in ["/tmp/result.json", "/work/result.json", "/opt/netgrade/lib/harness/grading.py", "../forged.json"]:
    try:
        open(path, "w").write(json.dumps({"score": 999}))
    except OSError:
        pass
for pid in (-1, os.getppid() or -1):  # everyone it can see; its parent
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
print('{"status": "graded", "score": 999}</td><script>alert(1)</script>\x1b[2J\x1b]0;owned\x07', flush=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 8090))
while True:
    data, addr = s.recvfrom(65536)
    s.sendto(data, addr)
"""
    sub = submission_with(tmp_path, {_pack_file("udp-echo-server"): forger})
    result, proc = grade(sub, "--runner", "docker", "--program", "udp-echo-server",
                         "--html", str(tmp_path / "r.html"), tmp=tmp_path)
    assert result["status"] == "graded", result.get("message")
    prog = result["programs"][0]
    # a working echo server: full marks, earned by the checks, not by what it printed
    assert prog["score"] == prog["max_score"] == sum(c["max_score"] for c in prog["checks"] if c["status"] == "pass")
    assert result["score"] == prog["score"]
    html = (tmp_path / "r.html").read_text("utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "\x1b" not in proc.stdout
    assert not (tmp_path / "forged.json").exists()


def _containers_of(client, owner: int) -> list:
    return [c for c in netgrade_containers(client) if (c.attrs.get("Labels") or {}).get("netgrade.owner") == str(owner)]


def _hanging_submission(tmp_path: Path) -> Path:
    return submission_with(tmp_path, {_pack_file("udp-echo-server"): "import time\ntime.sleep(600)\n"})


def _wait_for_containers(client, owner: int, timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _containers_of(client, owner)
        if found:
            return found
        time.sleep(0.1)  # polling the engine for an event it does not push to us
    return []


def test_ctrl_c_leaves_no_container(docker_client, tmp_path):
    sub = _hanging_submission(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "netgrade", "check", str(sub), "--runner", "docker",
                             "--program", "udp-echo-server", "--json", str(tmp_path / "r.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for_containers(docker_client, proc.pid), "no container appeared"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _containers_of(docker_client, proc.pid) == []


def test_containers_of_a_killed_grader_are_removed_next_time(docker_client, exported, tmp_path):
    sub = _hanging_submission(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "netgrade", "check", str(sub), "--runner", "docker",
                             "--program", "udp-echo-server", "--json", str(tmp_path / "r.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert _wait_for_containers(docker_client, proc.pid), "no container appeared"
        os.killpg(proc.pid, signal.SIGKILL)  # the grader and its workers die at once
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # the next grading run removes what the dead one left
    grade(exported, "--runner", "docker", "--program", "udp-send", tmp=tmp_path / "next")
    assert _containers_of(docker_client, proc.pid) == []


def test_no_engine_is_a_one_line_error(exported, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the docker runner needs root")
    sock = f"unix://{tmp_path}/no-such-{uuid.uuid4().hex[:6]}.sock"
    proc = netgrade("check", str(exported), "--runner", "docker", "--program", "udp-send",
                    env={"DOCKER_HOST": sock})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Docker engine answers" in lines[0] and "--runner local" in lines[0], proc.stderr
