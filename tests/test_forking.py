"""The local runner's checks side by side in forks of the grading process (harness/forking.py)."""
from __future__ import annotations

import json
import os

import pytest

from conftest import grade, submission_with
from netgrade.forking import units_of

# Three checks that pass only when they run at the same time: each leaves a file named after itself in the
# folder NETGRADE_TEST_MEET, then waits (deadline NETGRADE_TEST_WAIT seconds) until all three are there, and
# records the process it ran in.  One that ended leaves done-NAME: a check that finds another ended before it
# began did not meet it, whatever order the checks ran in (the grader starts the longest of last time first).
MEETING = '''
import json, os, time
from netgrade.checks import check, fail

NAMES = ("a", "b", "c")


def meet(name):
    folder = os.environ["NETGRADE_TEST_MEET"]
    # looked at before this check's own file exists: no other check can have met it and ended yet
    ended = [n for n in NAMES if os.path.exists(os.path.join(folder, "done-" + n))]
    with open(os.path.join(folder, name), "w") as f:
        json.dump({"pid": os.getpid(), "ppid": os.getppid()}, f)
    try:
        deadline = time.monotonic() + float(os.environ["NETGRADE_TEST_WAIT"])
        while time.monotonic() < deadline:
            if all(os.path.exists(os.path.join(folder, n)) for n in NAMES):
                if ended:
                    fail("expected the other checks to run at the same time; " + ", ".join(ended)
                         + " had ended before this one began")
                return
            time.sleep(0.01)
        fail("expected the other checks to run at the same time; alone until the deadline")
    finally:
        open(os.path.join(folder, "done-" + name), "w").close()


@check("udp-send", "extra", "meets a", id="meets-a")
def test_meet_a():
    meet("a")


@check("udp-send", "extra", "meets b", id="meets-b")
def test_meet_b():
    meet("b")


@check("udp-send", "extra", "meets c", id="meets-c")
def test_meet_c():
    meet("c")
'''


def _meeting(tmp_path, exported, jobs: str, wait: float) -> tuple[dict, dict[str, dict]]:
    suite = tmp_path / "meeting_checks.py"
    suite.write_text(MEETING, "utf-8")
    meet = tmp_path / "meet"
    meet.mkdir()
    sub = submission_with(tmp_path, {"udp_send.py": exported / "udp_send.py"})
    os.environ["NETGRADE_TEST_MEET"], os.environ["NETGRADE_TEST_WAIT"] = str(meet), str(wait)
    try:
        result, proc = grade(sub, "--program", "udp-send", "--suites", str(suite), "--jobs", jobs, tmp=tmp_path)
    finally:
        del os.environ["NETGRADE_TEST_MEET"], os.environ["NETGRADE_TEST_WAIT"]
    checks = {c["id"]: c for c in result["programs"][0]["checks"]}
    seen = {p.name: json.loads(p.read_text("utf-8")) for p in meet.iterdir() if not p.name.startswith("done-")}
    return checks, seen


def test_checks_run_side_by_side_each_in_a_fork_of_the_grading_process(tmp_path, exported):
    checks, seen = _meeting(tmp_path, exported, "4", wait=60)
    assert {k: checks[k]["status"] for k in ("meets-a", "meets-b", "meets-c")} == dict.fromkeys(
        ("meets-a", "meets-b", "meets-c"), "pass"), checks
    pids = {v["pid"] for v in seen.values()}
    parents = {v["ppid"] for v in seen.values()}
    assert len(pids) == 3, seen  # a process each
    assert len(parents) == 1 and not parents & pids, seen  # all forked by the one grading process
    # the sheet's own checks still pass beside them
    assert all(c["status"] == "pass" for k, c in checks.items() if c["level"] in ("must", "should")), checks


def test_one_at_a_time_the_meeting_check_fails(tmp_path, exported):
    """The meeting checks can fail: graded one at a time (in the grading process itself), none meets, in
    whatever order they ran (the last one finds the others' files, left by checks that had ended)."""
    checks, seen = _meeting(tmp_path, exported, "1", wait=0.5)
    meets = {k: checks[k] for k in ("meets-a", "meets-b", "meets-c")}
    assert [c["status"] for c in meets.values()] == ["fail"] * 3, checks
    words = [c["message"].split("; ", 1)[1] for c in meets.values()]
    alone = [w for w in words if w == "alone until the deadline"]
    late = [w for w in words if w.endswith(" had ended before this one began")]
    assert len(alone) == 2 and len(late) == 1, words  # the first two waited alone; the last came after them
    assert len({v["pid"] for v in seen.values()}) == 1 and len(seen) == 3, seen


class _Item:
    def __init__(self, name: str, group: str | None = None) -> None:
        self.nodeid, self._group = name, group

    def get_closest_marker(self, name: str):
        if name != "xdist_group" or self._group is None:
            return None
        return pytest.mark.xdist_group(self._group).mark

    def __repr__(self) -> str:
        return self.nodeid


def test_a_group_of_checks_is_one_unit_and_the_groups_go_first():
    items = [_Item("a"), _Item("p1", "udp-send"), _Item("b"), _Item("p2", "udp-send"), _Item("q1", "udp-recv")]
    assert [[i.nodeid for i in u] for u in units_of(items)] == [["p1", "p2"], ["q1"], ["a"], ["b"]]


STUCK = '''
import signal, time
import pytest
from netgrade.checks import check


@pytest.mark.timeout(1)
@check("udp-send", "extra", "never ends", id="stuck")
def test_stuck():
    # what pytest-timeout cannot end: its alarm blocked (as a lock held by another thread at the fork would)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT, signal.SIGTERM})
    time.sleep(3600)
'''


def test_a_child_stuck_past_its_checks_limit_is_killed_and_its_check_is_an_error(tmp_path, exported):
    suite = tmp_path / "stuck_checks.py"
    suite.write_text(STUCK, "utf-8")
    sub = submission_with(tmp_path, {"udp_send.py": exported / "udp_send.py"})
    os.environ["NETGRADE_FORK_MARGIN_S"] = "2"
    try:
        result, proc = grade(sub, "--program", "udp-send", "--suites", str(suite), "--jobs", "2", tmp=tmp_path,
                             timeout=120)
    finally:
        del os.environ["NETGRADE_FORK_MARGIN_S"]
    checks = {c["id"]: c for c in result["programs"][0]["checks"]}
    assert checks["stuck"]["status"] == "error", checks["stuck"]
    assert "died (killed by SIGKILL)" in checks["stuck"]["message"], checks["stuck"]["message"]
    assert "not the program's fault" in checks["stuck"]["message"]
    assert all(c["status"] == "pass" for k, c in checks.items() if k != "stuck"), checks


ORDER = '''
import os
from netgrade.checks import check


def started(name):
    with open(os.environ["NETGRADE_TEST_ORDER"], "a") as f:
        f.write(name + " ")


@check("udp-send", "extra", "first in the file", id="order-a")
def test_order_a():
    started("a")


@check("udp-send", "extra", "last in the file", id="order-b")
def test_order_b():
    started("b")
'''


def test_the_checks_that_took_longest_last_time_start_first(tmp_path, exported):
    """The durations a grading leaves in the cache folder order the next grading's checks, longest first;
    the result keeps the checks' order in their file."""
    suite = tmp_path / "order_checks.py"
    suite.write_text(ORDER, "utf-8")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "check-seconds.json").write_text(json.dumps({"udp-send/order-a": 0.01, "udp-send/order-b": 50.0}))
    order = tmp_path / "order.txt"
    sub = submission_with(tmp_path, {"udp_send.py": exported / "udp_send.py"})
    os.environ["NETGRADE_CACHE"], os.environ["NETGRADE_TEST_ORDER"] = str(cache), str(order)
    try:
        result, _ = grade(sub, "--program", "udp-send", "--suites", str(suite), "--jobs", "1", tmp=tmp_path)
    finally:
        del os.environ["NETGRADE_CACHE"], os.environ["NETGRADE_TEST_ORDER"]
    assert order.read_text().split() == ["b", "a"]  # one at a time: b, expected to take longest, went first
    ids = [c["id"] for c in result["programs"][0]["checks"]]
    assert ids.index("order-a") < ids.index("order-b"), ids
    known = json.loads((cache / "check-seconds.json").read_text())
    assert known["udp-send/order-b"] < 50.0 and "udp-send/port" in known, known  # what this grading saw


def test_a_check_under_a_millisecond_is_remembered(tmp_path, monkeypatch):
    """A trivial check on a fast machine takes 0.0 s at the result's millisecond; what this grading saw
    replaces what was known (CI once kept a stale 50 s this way); a check that did not run keeps it."""
    from netgrade import timings
    from netgrade.results import CheckResult, ProgramResult, Result

    monkeypatch.setenv("NETGRADE_CACHE", str(tmp_path))
    (tmp_path / timings.FILE).write_text(json.dumps({"p/fast": 50.0, "p/skipped": 7.0, "p/unrun": 9.0}))

    def check(cid, status, seconds):
        return CheckResult(id=cid, title="", level="must", status=status, score=0, max_score=1, message="",
                           duration_s=seconds)
    program = ProgramResult(id="p", file="p.py", status="graded", score=0, max_score=3, checks=[
        check("fast", "pass", 0.0), check("skipped", "skip", 0.0), check("unrun", "error", 0.0),
        check("slow", "fail", 1.25)])
    timings.remember(Result(submission="s", pack="x", runner="local", score=0, max_score=3, started_at="",
                            duration_s=1.3, programs=[program]))
    assert timings.load() == {"p/fast": 0.0, "p/skipped": 7.0, "p/unrun": 9.0, "p/slow": 1.25}


def test_the_fork_hook_is_declared_even_after_a_plugin_implemented_it():
    """A plugin registered before the forking plugin declares its hook leaves pluggy a caller with no
    specification; the declaration must still come (else pytest refuses the hook as unknown)."""
    from _pytest.config import PytestPluginManager

    from netgrade import forking

    class Early:
        @staticmethod
        def pytest_netgrade_before_forks(config):
            return None

    pm = PytestPluginManager()
    pm.register(Early(), "early")
    forking.add_hooks(pm)
    forking.add_hooks(pm)  # and once only
    assert pm.hook.pytest_netgrade_before_forks.spec is not None
    pm.check_pending()
