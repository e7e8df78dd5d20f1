"""Hostile programs (tests/hostile/) do not turn into passes or grader errors.

Each is graded with the local runner and with the Docker runner (skipped,
saying why, where no engine answers).  The programs only ever send inside
their own sandbox, so these tests run only where a private network exists.

- sprayed datagrams are not replies (issue 14, hole 2);
- a program that takes every UDP port of its sandbox fails its checks, it
  does not make them grader errors (hole 3);
- a command template with a format spec, an unknown field or an absurd
  length is bad input: one line, exit 2, a result file (hole 4).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conftest import grade, submission_with
from netgrade.checks import CheckFailure
from netgrade.evidence import Evidence
from netgrade.pack import load
from netgrade.peers.udp import UdpPeer
from netgrade.sandbox import RESERVED_UDP
from netgrade.sandbox.netns import namespace_support

HOSTILE = Path(__file__).resolve().parent / "hostile"
PY = os.path.realpath(sys.executable)
isolated = pytest.mark.skipif(namespace_support() != "netns",
                              reason=f"hostile programs run only in a private network: {namespace_support()}")


@pytest.fixture(params=["local", "docker"])
def runner_args(request) -> list[str]:
    if request.param == "docker":
        from dockerenv import require_docker
        require_docker()
        return ["--runner", "docker"]
    return []


def _statuses(result: dict) -> dict[str, dict]:
    return {c["id"]: c for p in result["programs"] for c in p["checks"]}


# ------------------------------------------------------------ hole 2: sprayed datagrams

AREA_CHECKS = ("value", "reply-to-sender", "many", "not-a-number")


@isolated
@pytest.mark.parametrize("hostile", ["spray_other_socket", "spray_from_listener", "spray_after_request"])
def test_sprayed_datagrams_are_not_replies(hostile, runner_args, tmp_path):
    sub = submission_with(tmp_path, {"udp_area_server.py": HOSTILE / "udp-area-server" / f"{hostile}.py"})
    result, proc = grade(sub, "--program", "udp-area-server", *runner_args, tmp=tmp_path)
    assert result["status"] == "graded", result.get("message")
    checks = _statuses(result)
    for cid in AREA_CHECKS:
        assert checks[cid]["status"] == "fail", f"{cid}: {checks[cid]}\n{proc.stdout[-3000:]}"
    for cid in ("many", "not-a-number", "reply-to-sender"):  # passed before: what reached a spy counted
        assert "spray" in checks[cid]["message"], checks[cid]["message"]
    assert proc.returncode == 1


def test_a_misdirected_reply_still_counts_for_what_it_says(tmp_path):
    """The other side of hole 2: a server that answers every request, to the wrong port, loses one check."""
    mutant = Path(__file__).resolve().parent / "mutants" / "udp-area-server" / "fixed_port_reply.py"
    sub = submission_with(tmp_path, {"udp_area_server.py": mutant})
    result, _ = grade(sub, "--program", "udp-area-server", tmp=tmp_path)
    checks = _statuses(result)
    assert checks["reply-to-sender"]["status"] == "fail"
    assert "the reply went to port 8090" in checks["reply-to-sender"]["message"]
    assert {cid: checks[cid]["status"] for cid in ("value", "many", "not-a-number")} == dict.fromkeys(
        ("value", "many", "not-a-number"), "pass")


# ------------------------------------------------------------ hole 3: every port taken

ECHO_CHECKS = ("echo", "many", "two-clients", "boundaries", "empty", "invalid-utf8")


@isolated
@pytest.mark.timeout(900)  # each check's socket table holds ~28000 rows (netlink reads it in ~0.3 s a look)
@pytest.mark.parametrize("hostile", ["takes_every_port", "takes_every_port_then_spares"])
def test_taking_every_port_fails_checks_not_the_grader(hostile, runner_args, tmp_path):
    sub = submission_with(tmp_path, {"udp_echo_server.py": HOSTILE / "udp-echo-server" / f"{hostile}.py"})
    result, proc = grade(sub, "--program", "udp-echo-server", *runner_args, tmp=tmp_path, timeout=600)
    assert result["status"] == "graded", result.get("message")
    checks = _statuses(result)
    errors = {cid: c["message"] for cid, c in checks.items() if c["status"] == "error"}
    assert not errors, errors
    for cid in ECHO_CHECKS:
        assert checks[cid]["status"] == "fail", f"{cid}: {checks[cid]}"
        assert "Address already in use" not in checks[cid]["message"], checks[cid]["message"]


@isolated
@pytest.mark.timeout(900)
def test_taking_every_tcp_port_fails_checks_not_the_grader(runner_args, tmp_path):
    """Every ephemeral TCP port bound before the server listens: the grader's connect() has no local
    port left; the checks fail saying so, none is a grader error."""
    sub = submission_with(tmp_path, {"tcp_thanks_server.py": HOSTILE / "tcp-thanks-server" / "takes_every_tcp_port.py"})
    result, proc = grade(sub, "--program", "tcp-thanks-server", *runner_args, tmp=tmp_path, timeout=600)
    assert result["status"] == "graded", result.get("message")
    checks = _statuses(result)
    errors = {cid: c["message"] for cid, c in checks.items() if c["status"] == "error"}
    assert not errors, errors
    assert checks["reply"]["status"] == "fail", checks["reply"]
    assert "holds every TCP port" in checks["reply"]["message"], checks["reply"]["message"]


@isolated
def test_a_peer_the_program_made_impossible_is_a_failure_that_says_so(runner, tmp_path):
    """Past the sockets reserved before the program started, binding fails: the check says why."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "prog.py").write_bytes((HOSTILE / "udp-echo-server" / "takes_every_port.py").read_bytes())
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="hostile", files_from=src)
        assert run.wait_listening("udp", 8090, 60) is not None, run.crash_summary()
        peers = [UdpPeer(box, label=f"peer {i}") for i in range(RESERVED_UDP)]  # bound before the program ran
        assert len({p.port for p in peers}) == RESERVED_UDP
        with pytest.raises(CheckFailure) as failed:
            UdpPeer(box, label="one too many")
        message = str(failed.value)
        assert message.startswith("the program holds every UDP port of its sandbox (")
        assert message.endswith("; the grader's peer could not bind")
    finally:
        box.close()


# ------------------------------------------------------------ hole 4: command templates

BAD_TEMPLATES = {
    "bomb": "{python} {file} {port:>1000000000000}",
    "wide": "{python} {file} {port:>5000000}",
    "conversion": "{python} {file!r}",
    "attribute": "{python.__class__} {file}",
    "unknown": "{python} {file} {host}",
    "long": "{python} {file} " + "x" * 5000,
}
SEND = "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(input().encode(), ('127.0.0.1', 8080))\n"


@pytest.mark.parametrize("where", ["netgrade.toml", "--run"])
@pytest.mark.parametrize("name", sorted(BAD_TEMPLATES))
def test_bad_template_is_bad_input_with_a_result(name, where, runner_args, tmp_path):
    template = BAD_TEMPLATES[name]
    files = {"udp_send.py": SEND}
    args = ["--program", "udp-send", *runner_args]
    if where == "netgrade.toml":
        files["netgrade.toml"] = f"[programs.udp-send]\nrun = {template!r}\n".replace("'", '"')
    else:
        args += ["--run", f"udp-send={template}"]
    sub = submission_with(tmp_path, files)
    result, proc = grade(sub, *args, tmp=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert result["status"] == "error"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 400, proc.stderr[:2000]
    assert f"{where}: command for udp-send cannot be parsed" in lines[0], lines[0]
    assert result["message"] in lines[0]


def test_documented_fields_still_work(tmp_path):
    files = {"udp_send.py": SEND,
             "netgrade.toml": '[programs.udp-send]\nrun = "{python} {file} --port={port} {{literal}}"\n'}
    sub = submission_with(tmp_path, files)
    from netgrade.submission import locate, open_submission
    located = locate(open_submission(sub), load())["udp-send"]
    assert located.command[1:] == ["udp_send.py", "--port=8080", "{literal}"]
    assert os.path.isabs(located.command[0])
