"""The CLI contract: exit codes, result JSON, list, reference export, escaping."""
from __future__ import annotations

import json

from conftest import grade, netgrade, submission_with
from harness import RESULT_SCHEMA


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
    c = p["checks"][0]
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
    stdout_seen = result["programs"][0]["checks"][0]["evidence"]["processes"][0]["stdout"]
    assert "\x1b" not in stdout_seen and "\\x1b[2J" in stdout_seen  # kept, escaped
    assert proc.returncode == 1


def test_reference_run_help():
    proc = netgrade("reference", "run", "udp-echo-server", "--help")
    assert proc.returncode == 0 and "--port" in proc.stdout
