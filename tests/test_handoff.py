"""The typed contracts between the grader and its pytest workers (netgrade.handoff), and the plugin's
verdict merging.  Fast: no program is run."""
from __future__ import annotations

import json

import pytest
from netgrade.checks import CheckInfo, check_mark
from netgrade.handoff import CheckRecord, Plan, read_index, write_index
from netgrade.pack import load
from netgrade.plugin import Verdict
from netgrade.runner import DOCKER, LOCAL, RUNNERS, DockerRun, RunnerChoice, make_runner
from netgrade.submission import Located
from netgrade.verdicts import Level, Presence, Status


def _plan(runner: RunnerChoice) -> Plan:
    pack = load()
    located = {"udp-send": Located("udp-send", "found", "udp_send.py", ["python3", "udp_send.py"], ".", "default",
                                   stdin_prelude=("hi",)),
               "udp-recv": Located("udp-recv", Presence.MISSING, None, None, ".", "default", note="not found")}
    return Plan(pack=pack, submission_name="alice", submission_root="/tmp/alice", programs=located,
                selected=["udp-send", "udp-recv"], runner=runner, workbase="/tmp/x/runs", jobs=3,
                only_checks=["udp-send/exits"])


@pytest.mark.parametrize("runner", [RunnerChoice(), RunnerChoice(LOCAL, namespaces=False),
                                    RunnerChoice(DOCKER, docker=DockerRun("img:1", "abc", 42, "/tmp/x/pairs"))])
def test_a_plan_comes_back_as_it_was_written(tmp_path, runner):
    plan = _plan(runner)
    plan.save(tmp_path / "plan.json")
    back = Plan.load(tmp_path / "plan.json")
    assert back.runner == runner
    assert back.programs == plan.programs and back.programs["udp-recv"].status is Presence.MISSING
    assert back.pack.programs == plan.pack.programs and back.pack.sources == plan.pack.sources
    assert back.pack.limits == plan.pack.limits and back.pack.points == plan.pack.points
    assert (back.selected, back.only_checks, back.jobs, back.workbase) == (plan.selected, plan.only_checks, 3,
                                                                          "/tmp/x/runs")
    assert json.loads(back.to_json()) == json.loads(plan.to_json())


def test_runner_names_are_the_registry():
    assert list(RUNNERS) == [LOCAL, DOCKER]
    with pytest.raises(ValueError, match="unknown runner 'podman'.*local, docker"):
        make_runner(RunnerChoice("podman"), "/tmp/x/runs", load().limits, ())
    with pytest.raises(ValueError, match="needs the run's image"):
        make_runner(RunnerChoice(DOCKER), "/tmp/x/runs", load().limits, ())


def _info() -> CheckInfo:
    return CheckInfo("udp-send", "must", "exits with status 0", "exits", sheet="001 §3.1.1", hint="exit 0")


def test_a_check_record_is_unjudged_until_given_its_verdict():
    base = CheckRecord.unjudged(_info(), "test_udp.py::test_exits", ("test_udp.py", 191), Level.SHOULD, 1)
    assert base.key == "udp-send/exits"
    assert (base.check.status, base.check.message, base.check.level) == (Status.ERROR, "", Level.SHOULD)
    assert base.check.max_score == 1.0 and base.check.evidence == {"events": [], "processes": []}
    ev = {"events": [{"t": 0.1, "kind": "note", "text": "x"}], "processes": []}
    done = base.judged(Status.FAIL, "expected exit 0, got 1", 0.5, ev)
    assert (done.check.status, done.check.message, done.check.duration_s) == (Status.FAIL, "expected exit 0, got 1",
                                                                              0.5)
    assert done.check.evidence == ev and base.check.status is Status.ERROR  # the unjudged one is unchanged
    back = CheckRecord.from_json(done.to_json())
    assert back == done and back.check.status is Status.FAIL and back.order == ("test_udp.py", 191)


def test_the_check_index_round_trips_and_refuses_what_is_not_one(tmp_path):
    recs = [CheckRecord.unjudged(_info(), f"t.py::test_{i}", ("t.py", i), Level.MUST, 2) for i in range(3)]
    write_index(tmp_path / "checks.json", recs)
    assert read_index(tmp_path / "checks.json") == {r.nodeid: r for r in recs}
    (tmp_path / "bad.json").write_text(json.dumps({"t.py::x": {"program": "udp-send"}}))
    with pytest.raises(ValueError, match="not a check index"):
        read_index(tmp_path / "bad.json")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # the plugin registers it in a grading run
def test_a_check_mark_carries_its_info():
    mark = check_mark("udp-send", "should", "title", "exits", sheet="s", hint="h").mark
    assert CheckInfo(**mark.kwargs) == CheckInfo("udp-send", Level.SHOULD, "title", "exits", "s", "h")
    assert mark.kwargs["level"] is Level.SHOULD
    with pytest.raises(ValueError, match="level must be one of must, should, extra, not 'may'"):
        check_mark("udp-send", "may", "title", "exits")


@pytest.mark.parametrize("phases, status, message", [
    ([("setup", Status.PASS, ""), ("call", Status.PASS, ""), ("teardown", Status.PASS, "")], Status.PASS, ""),
    ([("setup", Status.PASS, ""), ("call", Status.FAIL, "got y"), ("teardown", Status.ERROR, "td")],
     Status.FAIL, "got y"),  # the first verdict that is not a pass wins
    ([("setup", Status.ERROR, "no sandbox"), ("teardown", Status.PASS, "")], Status.ERROR, "no sandbox"),
    ([("setup", Status.SKIP, "program missing"), ("teardown", Status.PASS, "")], Status.SKIP, "program missing"),
    ([("setup", Status.PASS, ""), ("call", Status.PASS, ""), ("teardown", Status.ERROR, "close failed")],
     Status.ERROR, "close failed"),  # a teardown counts as an error only
    ([("setup", Status.PASS, ""), ("call", Status.PASS, ""), ("teardown", Status.FAIL, "late")], Status.PASS, ""),
    ([("setup", Status.PASS, "")], None, ""),  # a passed setup alone is no verdict: the record makes it an error
])
def test_a_checks_phases_merge_into_one_verdict(phases, status, message):
    v = Verdict()
    for when, s, m in phases:
        v.merge(when, s, m)
    assert (v.status, v.message) == (status, message)
