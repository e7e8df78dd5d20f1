"""Memo files (netgrade.memos): a program that hangs in one check of a grading run is still started in
every later check, but waited for less, and those checks say why (a server that never listened, a
client that reached no peer)."""
from __future__ import annotations

from pathlib import Path

from conftest import grade, submission_with
from netgrade.memos import NO_CONTACT, NOT_LISTENING, has_memo, leave_memo, memo_path
from netgrade.runner import make_workbase

HANGS_QUIETLY = "import time\nprint('starting', flush=True)\nwhile True:\n    time.sleep(1)\n"


def test_a_memo_is_kept_beside_the_work_folders_per_kind_and_program(tmp_path):
    workbase = make_workbase(str(tmp_path))
    assert not has_memo(workbase, NOT_LISTENING, "udp-echo-server")
    leave_memo(workbase, NOT_LISTENING, "udp-echo-server", "it listens on nothing")
    assert has_memo(workbase, NOT_LISTENING, "udp-echo-server")
    path = Path(memo_path(workbase, NOT_LISTENING, "udp-echo-server"))
    assert path.read_text() == "it listens on nothing"
    assert path.parent == tmp_path, f"expected the memo beside {workbase}, found it at {path}"
    assert not has_memo(workbase, NO_CONTACT, "udp-echo-server"), "a memo of one kind answered for another"
    assert not has_memo(workbase, NOT_LISTENING, "udp-recv"), "a memo of one program answered for another"


def test_a_memo_that_cannot_be_written_is_no_error(tmp_path):
    workbase = str(tmp_path / "gone" / "runs")  # its grading run's folder is already removed
    leave_memo(workbase, NO_CONTACT, "udp-send")
    assert not has_memo(workbase, NO_CONTACT, "udp-send")


def test_a_hanging_server_and_client_are_waited_for_less_after_their_first_check(tmp_path):
    sub = submission_with(tmp_path, {"udp_echo_server.py": HANGS_QUIETLY, "udp_send.py": HANGS_QUIETLY})
    # one check at a time: the first check of each program comes before all the others
    result, proc = grade(sub, "--program", "udp-echo-server", "--program", "udp-send", "-j", "1", tmp=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for pid, later in (("udp-echo-server", "in an earlier check either)"),
                       ("udp-send", "in an earlier check either, so this check waited less)")):
        checks = next(p for p in result["programs"] if p["id"] == pid)["checks"]
        failed = [c for c in checks if c["status"] == "fail"]
        assert len(failed) == len(checks) >= 3, [(c["id"], c["status"]) for c in checks]
        told = [c["id"] for c in failed if later in c["message"]]
        assert told == [c["id"] for c in failed[1:]], \
            f"{pid}: expected every check after the first to say {later!r}; they were: " \
            + "; ".join(f"{c['id']}: {c['message']}" for c in failed)
        assert "within 3 s" in failed[0]["message"] and "within 0.5 s" in failed[1]["message"], \
            f"{pid}: expected the full wait first and a short one later, saw {failed[0]['message']!r}" \
            f" then {failed[1]['message']!r}"


def test_a_client_that_fails_only_beside_a_reference_program_is_not_waited_for_less(tmp_path):
    """A client's interop check talks to a reference server, not to our peer, so failing it says nothing of
    whether the client reaches anyone: it leaves no memo, and the later checks keep their full steps.  (CI
    runs 22 and 23: with-reference ran first, its memo cut the next checks' step to 0.5 s, and a client
    that closes 3.5 s after 'exit' also failed `exits`.)  Here with-reference is made to come first: one
    check at a time, and a durations file in which it is the longest."""
    import json

    from conftest import MUTANTS, netgrade
    sub = submission_with(tmp_path, {"tcp_sink_client.py": (MUTANTS / "tcp-sink-client" /
                                                             "waits_before_close.py").read_text("utf-8")})
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "check-seconds.json").write_text(json.dumps({"tcp-sink-client/with-reference": 60.0}), "utf-8")
    out = tmp_path / "result.json"
    proc = netgrade("check", str(sub), "--program", "tcp-sink-client", "-j", "1", "--json", str(out),
                    env={"NETGRADE_CACHE": str(cache)})
    assert out.exists(), proc.stdout + proc.stderr
    checks = {c["id"]: c for c in json.loads(out.read_text("utf-8"))["programs"][0]["checks"]}
    assert checks["with-reference"]["status"] == "fail", checks["with-reference"]
    failed = {k: c["message"] for k, c in checks.items() if c["status"] != "pass" and c["level"] != "extra"}
    assert list(failed) == ["closes-with-fin"], failed
    assert "stayed open 3 s" in failed["closes-with-fin"], failed
