"""The CLI contract: exit codes, result JSON, list, reference export, escaping."""
from __future__ import annotations

import json

import pytest

from conftest import grade, netgrade, submission_with
from netgrade import RESULT_SCHEMA


def test_missing_path_exit_2_and_error_result(tmp_path):
    out = tmp_path / "r.json"
    proc = netgrade("check", str(tmp_path / "nope"), "--json", str(out))
    assert proc.returncode == 2
    assert proc.stderr.startswith("netgrade: error: ") and "no such file or folder" in proc.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == RESULT_SCHEMA and data["status"] == "error"


def test_unknown_program_exit_2(exported):
    proc = netgrade("check", str(exported), "--program", "udp-sned")
    assert proc.returncode == 2 and "unknown program(s): udp-sned" in proc.stderr


def test_result_json_contract(exported, tmp_path):
    result, proc = grade(exported, "--program", "udp-recv", tmp=tmp_path)
    assert proc.returncode == 0
    for key in ("schema", "submission", "pack", "runner", "score", "max_score", "started_at", "duration_s",
                "programs"):
        assert key in result
    p = result["programs"][0]
    assert {"id", "file", "status", "score", "max_score", "checks"} <= set(p)
    c = {c["id"]: c for c in p["checks"]}["prints"]
    assert {"id", "title", "level", "status", "score", "max_score", "message", "duration_s", "evidence"} <= set(c)
    kinds = {e["kind"] for e in c["evidence"]["events"]}
    assert {"start", "sent", "stdout"} <= kinds
    assert c["evidence"]["processes"][0]["stdout"]


def test_list_shows_programs_checks_levels_points():
    proc = netgrade("list")
    assert proc.returncode == 0
    assert "udp-echo-server" in proc.stdout and "must" in proc.stdout and "should" in proc.stdout


def test_student_escape_sequences_never_reach_the_terminal(tmp_path):
    evil = ('import sys\nsys.stdout.write("\\x1b[2J\\x1b]0;pwned\\x07<script>alert(1)</script>")\n'
            'sys.exit(3)\n')
    sub = submission_with(tmp_path, {"udp_send.py": evil})
    result, proc = grade(sub, "--program", "udp-send", tmp=tmp_path)
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout  # not a terminal: no colours either
    first = {c["id"]: c for c in result["programs"][0]["checks"]}["one-datagram"]
    stdout_seen = first["evidence"]["processes"][0]["stdout"]
    assert "\x1b" not in stdout_seen and "\\x1b[2J" in stdout_seen  # kept, escaped
    assert proc.returncode == 1


def test_reference_run_help():
    proc = netgrade("reference", "run", "udp-echo-server", "--help")
    assert proc.returncode == 0 and "--port" in proc.stdout


def test_instructor_suite_adds_a_check(exported, tmp_path):
    suite = tmp_path / "my_checks.py"
    suite.write_text(
        "from netgrade.checks import check, fail\n"
        "from netgrade.peers.udp import UdpPeer\n\n"
        "@check('udp-send', 'should', 'confirms with 发送完成')\n"
        "def test_udp_send_confirms(sandbox, program, limits):\n"
        "    UdpPeer(sandbox, program.port)\n"
        "    run = program.start(stdin='hi')\n"
        "    if not run.wait_output('发送完成', limits.step_s):\n"
        "        fail(f'expected 发送完成 in the output; got {run.out!r}')\n", "utf-8")
    result, proc = grade(exported, "--program", "udp-send", "--suites", str(suite), tmp=tmp_path)
    ids = {c["id"]: c["status"] for c in result["programs"][0]["checks"]}
    assert ids.get("confirms") == "pass", ids
    listed = netgrade("list", "--suites", str(suite))
    assert "confirms" in listed.stdout


def test_broken_suite_gives_an_error_result_not_a_crash(exported, tmp_path):
    suite = tmp_path / "broken_checks.py"
    suite.write_text("def oops(:\n", "utf-8")
    result, proc = grade(exported, "--program", "udp-send", "--suites", str(suite), tmp=tmp_path)
    assert result["status"] == "error" and "could not be loaded" in result["message"]
    assert proc.returncode == 1 and "grading failed" in proc.stdout


@pytest.mark.parametrize("extra,want", [([], None), (["--jobs", "3"], 3)])
def test_checks_at_a_time_default_or_as_asked(exported, tmp_path, extra, want):
    """The local runner's checks run in forks of the grading process, as many at once as the machine's
    default (the forks never outnumber the checks) unless --jobs says how many."""
    from netgrade.grading import default_jobs
    plan = tmp_path / "plan.json"
    out = tmp_path / "r.json"
    proc = netgrade("check", str(exported), "--program", "udp-echo-server", *extra, "--json", str(out),
                    "--keep-plan", str(plan))
    result = json.loads(out.read_text("utf-8"))
    assert result["score"] == result["max_score"] > 0, proc.stdout[-2000:]
    assert json.loads(plan.read_text("utf-8"))["jobs"] == (want or default_jobs())


def test_xdist_workers_follow_what_is_graded():
    """The Docker runner's xdist workers each cost a start-up and containers: one UDP or TCP program alone
    gets one, a TFTP or framing program two, a retry no more than its checks, the whole pack the most."""
    from netgrade import pack as packmod
    from netgrade.grading import selection_jobs
    pack = packmod.load()
    assert selection_jobs(pack, ["udp-echo-server"], [], 4) == 1
    assert selection_jobs(pack, ["tftp-client"], [], 4) == 2
    assert selection_jobs(pack, ["framed-server"], [], 4) == 2  # framing checks wait on a slow writer too
    assert selection_jobs(pack, ["udp-send", "tcp-chat-server"], [], 4) == 2
    assert selection_jobs(pack, list(pack.programs), [], 4) == 4
    assert selection_jobs(pack, list(pack.programs), ["udp-send/port", "udp-recv/port"], 4) == 2
    assert selection_jobs(pack, [], [], 4) == 1


def test_only_the_suite_files_are_assertion_rewritten(exported, tmp_path):
    """pytest rewrites the asserts of the suites alone: a broader file pattern rewrote every module
    imported after start-up (compiled again in every worker) and cached it under the path it was
    imported from, so a non-root user reaching the same installation by another path read a wrong file
    name and xdist could not start ("can't find source file")."""
    prefix = tmp_path / "pycache"
    env = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(prefix)}  # empty: bytecode is written
    out = tmp_path / "r.json"
    proc = netgrade("check", str(exported), "--program", "udp-recv", "--json", str(out), env=env)
    assert json.loads(out.read_text("utf-8"))["score"] > 0, proc.stdout[-2000:]
    rewritten = sorted(p.name.split(".")[0] for p in prefix.rglob("*-pytest-*.pyc"))
    assert rewritten, "pytest wrote no rewritten module at all: the check looks at the wrong place"
    # the suites of the program's family and every family's file, and the plugins pytest is given (-p)
    assert set(rewritten) <= {"test_udp", "test_ports", "plugin", "scheduling", "pytest_timeout"}, rewritten
