"""The pytest plugin that turns suite files into graded checks.

netgrade runs pytest on ``suites/`` with this plugin and a *plan*
(``handoff.Plan`` as JSON: the merged pack, where each program was found and
how it is started, which programs to grade, the runner).  The plugin

- deselects the checks of programs that are missing or not selected;
- bounds every check with pytest-timeout (the pack's ``limits.check_s``);
- provides the fixtures suites use: ``sandbox`` (a fresh private network),
  ``program`` (the student's program for this check), ``reference`` (our
  reference programs, in the same sandbox), ``evidence``, ``spec``, ``limits``;
- records each check's verdict, message and evidence on its test report
  (a ``handoff.CheckRecord`` in ``user_properties``), from which the grader
  builds the result.

Suites can be run by hand too: ``pytest suites -p netgrade.plugin
--netgrade-plan plan.json`` (``netgrade check --keep-plan`` leaves one).
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import pack as packmod
from . import timings
from .checks import PER_PROGRAM_ATTR, CheckFailure, CheckInfo
from .evidence import CONTACT_KINDS, Evidence, Kind, event_msg
from .handoff import RECORD_KEY, CheckRecord, Plan, write_index
from .hints import unexpected_input_hint
from .i18n import Msg, N_, literal
from .memos import NO_CONTACT, has_memo, leave_memo
from .programs import ProgramUnderTest, References
from .runner import Runner, make_runner
from .sandbox import GRADER_FAULT, PORTS_TAKEN, SandboxError
from .verdicts import Presence, Status

#: a status as a message word
STATUS_WORDS = {Status.PASS: Msg(N_("pass")), Status.FAIL: Msg(N_("fail")), Status.ERROR: Msg(N_("error")),
                Status.SKIP: Msg(N_("skipped"))}

_evidence_key = pytest.StashKey[Evidence]()
_verdict_key = pytest.StashKey["Verdict"]()
_session_key = pytest.StashKey["Session | None"]()


class Session:
    """What the plugin knows in one pytest process (a worker or the only one)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.pack = plan.pack
        self.located = plan.programs
        self.root = Path(plan.submission_root)
        self._runner: Runner | None = None

    @property
    def runner(self) -> Runner:
        """Made at the first check: a controller process that runs none makes none."""
        if self._runner is None:
            self._runner = make_runner(self.plan.runner, self.plan.workbase, self.pack.limits,
                                       self.pack.lab_addresses)
        return self._runner


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from .forking import add_hooks
    add_hooks(pluginmanager)


def pytest_netgrade_before_forks(config: pytest.Config) -> None:
    """The runner made once, in the grading process, for every forked child to inherit."""
    s = config.stash.get(_session_key, None)
    if s is not None:
        s.runner  # noqa: B018 - made here, not once per child


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netgrade")
    group.addoption("--netgrade-plan", default=None, help="grading plan written by `netgrade check`")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "netgrade(program, level, title, id, sheet, hint): a graded check")
    config.addinivalue_line("markers", "netgrade_after(group): with forks, start once the xdist_group is done")
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


def check_info(item: pytest.Item) -> CheckInfo | None:
    """The check ``item`` is (its ``netgrade`` mark), None for a test that is no check."""
    try:
        return CheckInfo.of(item)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


#: checks of one program that run in one worker, in file order (the port check, then the address check)
SAME_WORKER_CHECKS = {"port", "address"}


def duplicate_ids(items: list[pytest.Item]) -> list[str]:
    """``PROGRAM/ID (a, b)`` for every check id that more than one collected test of a program carries."""
    seen: dict[str, list[str]] = {}
    for item in items:
        info = check_info(item)
        if info is not None:
            seen.setdefault(info.key, []).append(item.nodeid)
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
    only = set(s.plan.only_checks)
    for item in items:
        info = check_info(item)
        if info is None:
            raise pytest.UsageError(f"{item.nodeid}: a suite test needs @check(program, level, title)")
        if info.program not in s.pack.programs:
            raise pytest.UsageError(f"{item.nodeid}: @check names unknown program {info.program!r}")
        loc = s.located.get(info.program)
        if info.program not in wanted or loc is None or not s.pack.enabled(info.key) or (only and info.key not in only):
            drop.append(item)
            continue
        keep.append(item)
        if info.id in SAME_WORKER_CHECKS:
            # run after one another in one worker: the first tells the next (through the run's memos)
            # that a program hangs, so a hanging program costs one full wait, not one per check
            item.add_marker(pytest.mark.xdist_group(info.program))
        else:
            # with forks (forking.py) the program's other checks start once that group is done, so they
            # read its memos too, instead of all waiting the full time side by side
            item.add_marker(pytest.mark.netgrade_after(info.program))
        if loc.status == Presence.FOUND:
            item.add_marker(pytest.mark.timeout(s.pack.limits.check_s))
        else:  # still listed, so the program's points show in the result
            item.add_marker(pytest.mark.skip(reason=f"program missing: {loc.note}"))
    if drop:
        config.hook.pytest_deselected(items=drop)
    # every program's port and address checks first (their memos shorten the waits of its other checks
    # when it hangs), then the longest first (their durations here last time, else their family's): forks
    # start them in this order, so the grading is not left waiting for a long check that started last (the
    # result's order is the checks' place in their files, whatever order they ran in)
    # xdist's workers must each collect the same order, and the durations file may change between their
    # collections (another grading writes it): they keep the file's order
    by_duration = not hasattr(config, "workerinput")
    known = timings.load() if by_duration else {}

    def first(it: pytest.Item) -> tuple[bool, float]:
        info = check_info(it)
        if info.id in SAME_WORKER_CHECKS:
            return (False, 0.0)  # in their file's order: the port check's memo is for the address check
        if not by_duration:
            return (True, 0.0)
        return (True, -timings.expected_s(known, info.key, s.pack.programs[info.program].family))
    keep.sort(key=first)
    items[:] = keep
    _write_check_index(s, keep)


def check_index_path(workbase: str) -> str:
    """Every check a grading run's workers collected, by node id (see ``_write_check_index``)."""
    return os.path.join(os.path.dirname(workbase), "checks.json")


def _write_check_index(s: Session, items: list[pytest.Item]) -> None:
    """Leave what the grader needs to report each check without its worker.

    A worker that dies mid-check (killed, out of memory) sends no report for
    that check, and the checks it never reached send none either; from this
    index the grader still gives each of them a verdict (``error``, with the
    reason) instead of dropping it.  Every worker collects the same checks and
    writes the same index, each through a rename, so a reader never sees half.
    """
    records = [_unjudged_record(item, s, check_info(item)) for item in items]
    with contextlib.suppress(OSError):  # a full disk: the grader falls back to naming the crash in a notice
        write_index(check_index_path(s.plan.workbase), records)


def _unjudged_record(item: pytest.Item, s: Session, info: CheckInfo) -> CheckRecord:
    """A check's record without its verdict: what it is, its level and points in this run's pack."""
    level = s.pack.level_for(info.key, info.level)
    return CheckRecord.unjudged(info, item.nodeid, (item.location[0], item.location[1] or 0), level,
                                s.pack.points_for(info.key, level))


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
    return netgrade_session.pack.programs[info.program]


HUNG_CLIENT_STEP_S = 0.5
HUNG_CLIENT_READY_S = 1.0
_short_step_key = pytest.StashKey[float]()


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
    spec = netgrade_session.pack.programs[info.program]
    if spec.role == "client" and has_memo(netgrade_session.plan.workbase, NO_CONTACT, spec.id):
        short = min(lim.step_s, HUNG_CLIENT_STEP_S)
        request.node.stash[_short_step_key] = lim.step_s
        # its wait for a connection too: a client that connected nowhere in its first check
        return dataclasses.replace(lim, step_s=short, ready_s=min(lim.ready_s, HUNG_CLIENT_READY_S))
    return lim


@pytest.fixture
def program(request: pytest.FixtureRequest, netgrade_session: Session, sandbox, spec) -> ProgramUnderTest:
    return ProgramUnderTest(spec, netgrade_session.located[spec.id], netgrade_session.root, sandbox,
                            netgrade_session.pack)


@pytest.fixture
def reference(netgrade_session: Session, sandbox) -> References:
    return References(sandbox, netgrade_session.pack)


# ------------------------------------------------------------------ verdicts

def prelude_hint(program_id: str, ev: Evidence, contact: bool = True) -> Msg:
    """A hint when the program asked for input the sheet never mentions (hints.unexpected_input_hint)."""
    for proc in ev.processes:
        if proc.get("label") == program_id:
            hint = unexpected_input_hint(program_id, proc, contact)
            if hint:
                return hint
    return Msg("")


def _message_of(excinfo: pytest.ExceptionInfo) -> str:
    value = excinfo.value
    msg = str(value).strip()
    return msg or type(value).__name__


def _phase_verdict(rep: pytest.TestReport, call: pytest.CallInfo, limit: float) -> tuple[Status, Msg]:
    """(status, message) of one phase (setup, call or teardown)."""
    if rep.passed:
        return Status.PASS, Msg("")
    if rep.skipped:
        exc = call.excinfo
        reason = str(exc.value.msg) if exc is not None and hasattr(exc.value, "msg") else ""
        return Status.SKIP, literal(reason) if reason else Msg(N_("skipped"))
    exc = call.excinfo
    if exc is None:
        return Status.ERROR, Msg(N_("grader error (no exception recorded)"))
    if exc.errisinstance(CheckFailure):
        return Status.FAIL, exc.value.message if str(exc.value).strip() else literal(type(exc.value).__name__)
    if exc.errisinstance(AssertionError):  # a plain assert in an instructor's check
        return Status.FAIL, literal(_message_of(exc) if str(exc.value)
                                    else str(rep.longrepr).strip().splitlines()[-1])
    if exc.errisinstance(pytest.fail.Exception) and str(exc.value).startswith("Timeout"):
        if rep.when != "call":  # setup and teardown are netgrade's own fixtures: no program runs in them
            if rep.when == "setup":
                return Status.ERROR, Msg(N_("grader error in setup: the check's sandbox was not ready within the"
                                            " check's time limit ({limit:g} s); not the program's fault"),
                                         {"limit": limit})
            return Status.ERROR, Msg(N_("grader error in {when}: the check's sandbox was not closed within the"
                                        " check's time limit ({limit:g} s); not the program's fault"),
                                     {"when": rep.when, "limit": limit})
        return Status.FAIL, Msg(N_("no verdict within the check's time limit ({limit:g} s): the program or its"
                                   " peer hung"), {"limit": limit})
    if exc.errisinstance(OSError) and exc.value.errno == errno.EADDRINUSE:
        # a refusal of the student's own port is the suites' fail; one that reaches here is the grader's
        return Status.ERROR, Msg(N_("grader error in {when}: the grader's peer could not bind its port ({why}):"
                                    " something of the grading machine holds it, not the program under test"),
                                 {"when": rep.when, "why": exc.value.strerror})
    if exc.errisinstance(SandboxError):  # the sandbox's own words: what of the grader's side failed
        return Status.ERROR, Msg(N_("grader error in {when}: {why}; not the program's fault"),
                                 {"when": rep.when, "why": _message_of(exc)})
    tb = "".join(traceback.format_exception_only(exc.type, exc.value)).strip()
    return Status.ERROR, Msg(N_("grader error in {when}: {why}"), {"when": rep.when, "why": tb})


def ports_taken(ev: Evidence) -> Msg | None:
    """The sandbox's note that the program held every ephemeral port (see Sandbox.close), if any."""
    return next((event_msg(e) for e in ev.events if e["kind"] == "note" and e.get("text", "").startswith(PORTS_TAKEN)),
                None)


def grader_fault(ev: Evidence) -> Msg | None:
    """Why the check's sandbox failed on the grader's side (see Sandbox.grader_fault), if it did."""
    prefix = f"{GRADER_FAULT}: "
    for e in ev.events:
        if e["kind"] == "note" and e.get("text", "").startswith(prefix):
            why = (e.get("text_params") or {}).get("why")
            if why is not None:
                return Msg.from_json(why)
            return literal(e["text"][len(prefix):])
    return None


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
            return Msg(N_("our {label} crashed ({exit}): {last}"),
                       {"label": label, "exit": proc.get("exit", "?"), "last": last.strip()[:300]})
    return None


def _ids(msg: Msg) -> set[str]:
    """The templates of ``msg`` and of every message inside it."""
    out = {msg.id}
    for v in msg.params.values():
        if isinstance(v, Msg):
            out |= _ids(v)
    return out


@dataclass
class Verdict:
    """The verdict of the check being run, made from its phases (kept on its item between them)."""

    status: Status | None = None  # None: no phase has ended yet
    message: Msg = field(default_factory=lambda: Msg(""))
    started: float = field(default_factory=time.monotonic)

    def merge(self, when: str, status: Status, message: Msg) -> None:
        """The first verdict that is not a pass wins; a pass is the call's; a teardown counts only as an error
        (a check's own teardown failing is the grader's problem, not a second verdict)."""
        if self.status not in (None, Status.PASS):
            return
        if status == Status.ERROR or (when != "teardown" and (status != Status.PASS or when == "call")):
            self.status, self.message = status, message


def _verdict_of(item: pytest.Item) -> Verdict:
    verdict = item.stash.get(_verdict_key, None)
    if verdict is None:
        verdict = item.stash[_verdict_key] = Verdict()
    return verdict


def _blame_grader_fault(verdict: Verdict, ev: Evidence) -> None:
    """A run that could not be set up, containers gone mid-check: a pass or a fail seen there says nothing
    about the program, so the check is the grader's error (what it saw is kept in the message)."""
    fault = grader_fault(ev) if verdict.status != Status.SKIP else None
    if not fault or (verdict.status == Status.ERROR and str(fault) in str(verdict.message)):
        return
    seen = Msg(N_("{status}: {message}"), {"status": STATUS_WORDS[verdict.status], "message": verdict.message}) \
        if verdict.message else STATUS_WORDS[verdict.status]
    verdict.status = Status.ERROR
    verdict.message = Msg(N_("grader error: {fault}, so this check could not be graded; not the program's fault"
                             " (the check saw: {seen})"), {"fault": fault, "seen": seen})


def _blame_reference(verdict: Verdict, ev: Evidence) -> bool:
    """A fail seen while our reference program crashed is the grader's error: make it one (True if so)."""
    crash = reference_crash(ev)
    if crash is None:
        return False
    verdict.status = Status.ERROR
    verdict.message = Msg(N_("grader error: {crash}, so this check could not be graded; not the program's fault"
                             " (the check saw: {seen})"), {"crash": crash, "seen": verdict.message})
    return True


def _explain_fail(verdict: Verdict, program_id: str, ev: Evidence, contact: bool) -> None:
    """Add to a fail's message what the evidence says caused it: every port taken, input the sheet never asks."""
    taken = ports_taken(ev)
    if taken and PORTS_TAKEN not in str(verdict.message):
        verdict.message = Msg(N_("{message}; {taken}, so our reference program could not get a port"),
                              {"message": verdict.message, "taken": taken})
    hint = prelude_hint(program_id, ev, contact)
    if hint and hint.id not in _ids(verdict.message):  # a suite may have named it already
        verdict.message = verdict.message + hint  # the hint starts with its own ". "


def _client_reached_nobody(item: pytest.Item, s: Session, verdict: Verdict, program_id: str, waited: bool) -> None:
    """A client that failed without reaching any peer: say the step was shortened if it was, else leave the
    memo that shortens the next checks' steps (see the ``limits`` fixture) if our peer ``waited`` for it in
    vain.  A check with no peer waiting (an interop check beside a reference program, whose contacts are not
    our peer's; a check where nothing listens) tells nothing of whether the client reaches anyone."""
    shortened = item.stash.get(_short_step_key, None)
    if shortened is not None:
        verdict.message = Msg(N_("{message} (it reached no peer within {seconds:g} s in an earlier check either, so"
                                 " this check waited less)"), {"message": verdict.message, "seconds": shortened})
    elif waited:
        leave_memo(s.plan.workbase, NO_CONTACT, program_id)


def _finish_fail(item: pytest.Item, s: Session, info: CheckInfo, verdict: Verdict, ev: Evidence) -> None:
    """What a failed check's evidence changes once it has ended: whose fault it was, and why it failed."""
    if _blame_reference(verdict, ev):
        return
    contact = any(e["kind"] in CONTACT_KINDS for e in ev.events)
    _explain_fail(verdict, info.program, ev, contact)
    if s.pack.programs[info.program].role == "client" and not contact:
        _client_reached_nobody(item, s, verdict, info.program, any(e["kind"] == Kind.TIMEOUT for e in ev.events))


def _record(item: pytest.Item, s: Session, info: CheckInfo, verdict: Verdict, ev: Evidence | None) -> CheckRecord:
    """The check's record, verdict included (a check that ended without one is the grader's error)."""
    return _unjudged_record(item, s, info).judged(
        verdict.status or Status.ERROR, verdict.message, round(time.monotonic() - verdict.started, 3),
        ev.to_dict() if ev is not None else None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Merge each phase's verdict into the check's; after its teardown, finish a fail from the evidence and
    put the check's record on the report."""
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()
    info = check_info(item)
    s = item.config.stash.get(_session_key, None)
    if info is None or s is None:
        return
    verdict = _verdict_of(item)
    verdict.merge(rep.when, *_phase_verdict(rep, call, s.pack.limits.check_s))
    loc = s.located.get(info.program)
    if verdict.status == Status.SKIP and loc is not None and loc.status != Presence.FOUND:
        verdict.message = Msg(N_("program missing: {why}"), {"why": loc.note_message()})
    if rep.when != "teardown":
        return
    ev = item.stash.get(_evidence_key, None)
    if ev is not None:
        _blame_grader_fault(verdict, ev)
    if verdict.status == Status.FAIL and ev is not None:
        _finish_fail(item, s, info, verdict, ev)
    rep.user_properties.append((RECORD_KEY, _record(item, s, info, verdict, ev).to_json()))
