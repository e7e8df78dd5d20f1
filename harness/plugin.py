"""The pytest plugin that turns suite files into graded checks.

netgrade runs pytest on ``suites/`` with this plugin and a *plan* (a JSON
file: the merged pack, where each program was found and how it is started,
which programs to grade, the runner).  The plugin

- deselects the checks of programs that are missing or not selected;
- bounds every check with pytest-timeout (the pack's ``limits.check_s``);
- provides the fixtures suites use: ``sandbox`` (a fresh private network),
  ``program`` (the student's program for this check), ``reference`` (our
  reference programs, in the same sandbox), ``evidence``, ``spec``, ``limits``;
- records each check's verdict, message and evidence on its test report
  (``user_properties``), from which the grader builds the result.

Suites can be run by hand too: ``pytest suites -p netgrade.plugin
--netgrade-plan plan.json`` (``netgrade check --keep-plan`` leaves one).
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import pack as packmod
from .atomicfile import atomic_write
from .checks import PER_PROGRAM_ATTR, CheckFailure
from .evidence import CONTACT_KINDS, Evidence
from .programs import ProgramUnderTest, References, unexpected_input_hint
from . import runner as runners
from .runner import Runner, memo_path
from .sandbox import PORTS_TAKEN
from .submission import Located
from .text import printable

RECORD_KEY = "netgrade"
_evidence_key = pytest.StashKey[Evidence]()
_record_key = pytest.StashKey[dict]()
_session_key = pytest.StashKey["Session | None"]()


@dataclass
class Plan:
    pack: dict[str, Any]
    pack_sources: list[str]
    submission_name: str
    submission_root: str
    programs: dict[str, dict]
    selected: list[str]
    runner: str
    workbase: str
    jobs: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.__dict__, ensure_ascii=False, indent=1), "utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Plan":
        return cls(**json.loads(Path(path).read_text("utf-8")))


class Session:
    """What the plugin knows in one pytest process (a worker or the only one)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.pack = packmod.from_dict(plan.pack, tuple(plan.pack_sources))
        self.located = {pid: Located.from_dict(d) for pid, d in plan.programs.items()}
        self.root = Path(plan.submission_root)
        self._runner: Runner | None = None

    @property
    def runner(self) -> Runner:
        """Made at the first check: a controller process that runs none makes none."""
        if self._runner is None:
            self._runner = make_runner(self.plan, self.pack)
        return self._runner


def make_runner(plan: Plan, pack: packmod.Pack) -> Runner:
    return runners.make_runner(plan.runner, plan.workbase, pack.limits, pack.lab_addresses, plan.extra)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netgrade")
    group.addoption("--netgrade-plan", default=None, help="grading plan written by `netgrade check`")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "netgrade(program, level, title, id, sheet, hint): a graded check")
    path = config.getoption("--netgrade-plan")
    config.stash[_session_key] = Session(Plan.load(path)) if path else None



def pytest_unconfigure(config: pytest.Config) -> None:
    s = config.stash.get(_session_key, None)
    if s is not None and s._runner is not None:
        s._runner.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Checks made per program (``@per_program``) from the pack this run merged (the default one to list)."""
    each = getattr(metafunc.function, PER_PROGRAM_ATTR, None)
    if each is None:
        return
    s = metafunc.config.stash.get(_session_key, None)
    metafunc.parametrize(each.argname, each.params(s.pack if s is not None else packmod.load()))


def _session(config: pytest.Config) -> Session:
    s = config.stash.get(_session_key, None)
    if s is None:
        raise pytest.UsageError("suites need --netgrade-plan (run them through `netgrade check`)")
    return s


def check_info(item: pytest.Item) -> dict[str, Any] | None:
    mark = item.get_closest_marker("netgrade")
    return dict(mark.kwargs) if mark else None


#: checks of one program that run in one worker, in file order (the port check, then the address check)
SAME_WORKER_CHECKS = {"port", "address"}


def duplicate_ids(items: list[pytest.Item]) -> list[str]:
    """``PROGRAM/ID (a, b)`` for every check id that more than one collected test of a program carries."""
    seen: dict[str, list[str]] = {}
    for item in items:
        info = check_info(item)
        if info is not None:
            seen.setdefault(f"{info['program']}/{info['id']}", []).append(item.nodeid)
    return [f"{key} ({', '.join(ids)})" for key, ids in seen.items() if len(ids) > 1]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    dup = duplicate_ids(items)
    if dup:  # a pack or a translation naming the id could not say which check it means
        raise pytest.UsageError("two checks of a program share an id: " + "; ".join(dup))
    s = config.stash.get(_session_key, None)
    if s is None:
        return
    keep, drop = [], []
    wanted = set(s.plan.selected)
    only = set(s.plan.extra.get("only_checks") or ())
    for item in items:
        info = check_info(item)
        if info is None:
            raise pytest.UsageError(f"{item.nodeid}: a suite test needs @check(program, level, title)")
        if info["program"] not in s.pack.programs:
            raise pytest.UsageError(f"{item.nodeid}: @check names unknown program {info['program']!r}")
        loc = s.located.get(info["program"])
        key = f"{info['program']}/{info['id']}"
        if info["program"] not in wanted or loc is None or not s.pack.enabled(key) or (only and key not in only):
            drop.append(item)
            continue
        keep.append(item)
        if info["id"] in SAME_WORKER_CHECKS:
            # run after one another in one worker: the first tells the next (through the run's memos)
            # that a program hangs, so a hanging program costs one full wait, not one per check
            item.add_marker(pytest.mark.xdist_group(info["program"]))
        if loc.status == "found":
            item.add_marker(pytest.mark.timeout(s.pack.limits.check_s))
        else:  # still listed, so the program's points show in the result
            item.add_marker(pytest.mark.skip(reason=f"program missing: {loc.note}"))
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
    _write_check_index(s, keep)


def check_index_path(workbase: str) -> str:
    """Every check a grading run's workers collected, by node id (see ``_write_check_index``)."""
    return os.path.join(os.path.dirname(workbase), "checks.json")


def _write_check_index(s: "Session", items: list[pytest.Item]) -> None:
    """Leave what the grader needs to report each check without its worker.

    A worker that dies mid-check (killed, out of memory) sends no report for
    that check, and the checks it never reached send none either; from this
    index the grader still gives each of them a verdict (``error``, with the
    reason) instead of dropping it.  Every worker collects the same checks and
    writes the same index, each through a rename, so a reader never sees half.
    """
    index = {item.nodeid: _base_record(item, s, check_info(item)) for item in items}
    with contextlib.suppress(OSError):  # a full disk: the grader falls back to naming the crash in a notice
        atomic_write(check_index_path(s.plan.workbase), json.dumps(index, ensure_ascii=False))


def _base_record(item: pytest.Item, s: "Session", info: dict[str, Any]) -> dict[str, Any]:
    """A check's record without its verdict: what it is, its level and points."""
    pid = info["program"]
    key = f"{pid}/{info['id']}"
    level = s.pack.level_for(key, info["level"])
    return {
        "program": pid,
        "id": info["id"],
        "title": info["title"],
        "level": level,
        "sheet": info.get("sheet", ""),
        "hint": info.get("hint", ""),
        "max_score": s.pack.points_for(key, level),
        "order": [item.location[0], item.location[1] or 0],
        "nodeid": item.nodeid,
    }


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def netgrade_session(request: pytest.FixtureRequest) -> Session:
    return _session(request.config)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    ev = request.node.stash.get(_evidence_key, None)
    if ev is None:
        ev = Evidence()
        request.node.stash[_evidence_key] = ev
    return ev


@pytest.fixture
def sandbox(netgrade_session: Session, evidence: Evidence):
    box = netgrade_session.runner.open_sandbox(evidence)
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def spec(request: pytest.FixtureRequest, netgrade_session: Session) -> packmod.Program:
    info = check_info(request.node)
    if info is None:
        raise pytest.UsageError("the spec fixture needs a @check")
    return netgrade_session.pack.programs[info["program"]]


HUNG_CLIENT_STEP_S = 0.5
_short_step_key = pytest.StashKey[float]()


def _no_contact_memo(s: "Session", program_id: str) -> str:
    return memo_path(s.plan.workbase, "no-contact", program_id)


@pytest.fixture
def limits(request: pytest.FixtureRequest, netgrade_session: Session) -> packmod.Limits:
    """The pack's limits; shorter steps for a client that reached nobody in an earlier check.

    Such a client is still started and given its chance in every check, but a
    hanging client then costs seconds per check, not the full step each time.
    """
    lim = netgrade_session.pack.limits
    info = check_info(request.node)
    if info is None:
        return lim
    spec = netgrade_session.pack.programs[info["program"]]
    if spec.role == "client" and os.path.exists(_no_contact_memo(netgrade_session, spec.id)):
        short = min(lim.step_s, HUNG_CLIENT_STEP_S)
        request.node.stash[_short_step_key] = lim.step_s
        return dataclasses.replace(lim, step_s=short)
    return lim


@pytest.fixture
def program(request: pytest.FixtureRequest, netgrade_session: Session, sandbox, spec) -> ProgramUnderTest:
    return ProgramUnderTest(spec, netgrade_session.located[spec.id], netgrade_session.root, sandbox,
                            netgrade_session.pack)


@pytest.fixture
def reference(netgrade_session: Session, sandbox) -> References:
    return References(sandbox, netgrade_session.pack)


# ------------------------------------------------------------------ verdicts

def prelude_hint(program_id: str, ev: Evidence, contact: bool = True) -> str:
    """A hint when the program asked for input the sheet never mentions (programs.unexpected_input_hint)."""
    for proc in ev.processes:
        if proc.get("label") == program_id:
            hint = unexpected_input_hint(program_id, proc, contact)
            if hint:
                return hint
    return ""


def _message_of(excinfo: pytest.ExceptionInfo) -> str:
    value = excinfo.value
    msg = str(value).strip()
    return msg or type(value).__name__


def _verdict(rep: pytest.TestReport, call: pytest.CallInfo, limit: float) -> tuple[str, str]:
    """(status, message) of one phase."""
    if rep.passed:
        return "pass", ""
    if rep.skipped:
        exc = call.excinfo
        reason = str(exc.value.msg) if exc is not None and hasattr(exc.value, "msg") else "skipped"
        return "skip", reason
    exc = call.excinfo
    if exc is None:
        return "error", "grader error (no exception recorded)"
    if exc.errisinstance(CheckFailure):
        return "fail", _message_of(exc)
    if exc.errisinstance(AssertionError):  # a plain assert in an instructor's check
        return "fail", _message_of(exc) if str(exc.value) else str(rep.longrepr).strip().splitlines()[-1]
    if exc.errisinstance(pytest.fail.Exception) and str(exc.value).startswith("Timeout"):
        return "fail", f"no verdict within the check's time limit ({limit:g} s): the program or its peer hung"
    if exc.errisinstance(OSError) and exc.value.errno == errno.EADDRINUSE:
        # a refusal of the student's own port is the suites' fail; one that reaches here is the grader's
        return "error", (f"grader error in {rep.when}: the grader's peer could not bind its port ({exc.value.strerror}):"
                         " something of the grading machine holds it, not the program under test")
    tb = "".join(traceback.format_exception_only(exc.type, exc.value)).strip()
    return "error", f"grader error in {rep.when}: {tb}"


def ports_taken(ev: Evidence) -> str | None:
    """The sandbox's note that the program held every ephemeral port (see Sandbox.close), if any."""
    return next((e["text"] for e in ev.events if e["kind"] == "note" and e.get("text", "").startswith(PORTS_TAKEN)),
                None)


def reference_crash(ev: Evidence) -> str | None:
    """How one of our reference programs crashed in this check (it meets the sheet: a crash is the grader's),
    unless the program under test had taken every port our reference could have used: then it is the
    program's failure."""
    if ports_taken(ev):
        return None
    for proc in ev.processes:
        label = proc.get("label", "")
        if label.startswith("reference ") and "Traceback (most recent call last)" in proc.get("stderr", ""):
            last = [line for line in proc["stderr"].strip().splitlines() if line.strip()][-1]
            return f"our {label} crashed ({proc.get('exit', '?')}): {last.strip()[:300]}"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    info = check_info(item)
    s = item.config.stash.get(_session_key, None)
    if info is None or s is None:
        return
    rec = item.stash.get(_record_key, None)
    if rec is None:
        rec = {"status": None, "message": "", "started": time.monotonic()}
        item.stash[_record_key] = rec
    status, message = _verdict(rep, call, s.pack.limits.check_s)
    # the first non-pass verdict wins; a teardown problem is kept as a note
    if rep.when in ("setup", "call"):
        if rec["status"] in (None, "pass"):
            if status != "pass" or rep.when == "call":
                rec["status"], rec["message"] = status, message
    elif status == "error" and rec["status"] in (None, "pass"):
        rec["status"], rec["message"] = status, message
    if rep.when != "teardown":
        return
    pid = info["program"]
    ev = item.stash.get(_evidence_key, None)
    contact = ev is not None and any(e["kind"] in CONTACT_KINDS for e in ev.events)
    crash = reference_crash(ev) if rec["status"] == "fail" and ev is not None else None
    if crash:
        rec["status"] = "error"
        rec["message"] = (f"grader error: {crash}, so this check could not be graded; not the program's fault"
                          f" (the check saw: {rec['message']})")
    if rec["status"] == "fail" and ev is not None:
        taken = ports_taken(ev)
        if taken and PORTS_TAKEN not in rec["message"]:
            rec["message"] += f"; {taken}, so our reference program could not get a port"
        hint = prelude_hint(pid, ev, contact)
        if hint and hint[2:] not in rec["message"]:  # a suite may have named it already
            rec["message"] += hint
    if rec["status"] == "fail" and s.pack.programs[pid].role == "client" and ev is not None:
        if item.stash.get(_short_step_key, None) is not None and not contact:
            rec["message"] += (f" (it reached no peer within {item.stash[_short_step_key]:g} s in an earlier"
                               " check either, so this check waited less)")
        elif not contact:
            with contextlib.suppress(OSError):
                open(_no_contact_memo(s, pid), "a").close()
    final = {
        **_base_record(item, s, info),
        "status": rec["status"] or "error",
        "message": printable(rec["message"]),
        "duration_s": round(time.monotonic() - rec["started"], 3),
        "evidence": ev.to_dict() if ev is not None else {"events": [], "processes": []},
    }
    rep.user_properties.append((RECORD_KEY, json.dumps(final, ensure_ascii=False)))
