"""Grading one submission: pack + submission -> pytest run -> Result.

``grade()`` never raises for a problem with the student's code: every program
gets a status and every check a verdict.  Bad input (a missing path, a bad
pack or archive) raises :class:`BadInput`; anything else that goes wrong in the
grader becomes a Result with status ``error`` and the reason, so a result file
is written on every path.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from . import __version__, interrupts, timings
from .handoff import RECORD_KEY, CheckRecord, Plan, read_index
from .pack import Limits, Pack, PackError
from .plugin import check_index_path
from .i18n import N_, Msg, literal
from .results import ProgramResult, Result, add_notice, score_program, set_text, total
from .runner import DOCKER, LOCAL, RUNNERS, DockerRun, RunnerChoice, make_workbase
from .sandbox.netns import namespace_support
from .submission import Submission, SubmissionError, locate, open_submission
from .verdicts import Presence, ProgramStatus, RunStatus, Status


class BadInput(Exception):
    """The user's input cannot be graded (exit status 2)."""


@dataclass
class Options:
    programs: list[str] = field(default_factory=list)
    runner: str = LOCAL
    run: dict[str, str] = field(default_factory=dict)
    #: checks at a time, as the user asked (``--jobs``); None: the local runner's forks take ``max_jobs``,
    #: the Docker runner's xdist workers are chosen from the selection (``selection_jobs``)
    jobs: int | None = None
    #: the most checks at a time when ``jobs`` is None (a batch's or service's share of the machine);
    #: None: ``default_jobs()``
    max_jobs: int | None = None
    keep_plan: str | None = None
    namespaces: bool | None = None  # None: use them when available
    suites: list[str] = field(default_factory=list)
    #: grade only these checks ("program/check" keys); empty: every check
    only_checks: list[str] = field(default_factory=list)
    #: the result's ``runner`` field when it is not ``runner`` (the Docker runner's container mode)
    runner_label: str | None = None
    #: called with ``{"event": "total", "total": N}`` once the checks are known (before any runs), then
    #: ``{"event": "check", "done": k, "total": N, "check": KEY, "status": S}`` as each one finishes
    progress: Callable[[dict], None] | None = None


def suites_dir() -> str:
    """Our suites' folder: course content, found by name (the engine never imports it)."""
    spec = importlib.util.find_spec("netgrade.suites")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("netgrade's suites are not installed")
    return str(list(spec.submodule_search_locations)[0])


def default_jobs() -> int:
    # checks mostly wait on programs and sockets, so more workers than cores pay off
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


#: a program whose checks take this long each (``timings.family_s``: they wait on its timers) keeps a second
#: xdist worker busy long enough to pay for its start-up; shorter ones (UDP, TCP) are graded sooner by one
#: worker than two can start
SECOND_WORKER_S = 0.5


def selection_jobs(pack: Pack, selected: list[str], only_checks: list[str], most: int) -> int:
    """xdist workers (the Docker runner's) for grading ``selected`` (at most ``most``): every worker costs a
    start-up (pytest, netgrade and the suites imported, its containers made) that only pays off when there are
    checks to overlap, so a small selection (one program, or the few failing checks a retry grades again) gets
    fewer workers than the whole pack.  The local runner's forks cost next to nothing and need no such rule."""
    want = sum(2 if timings.family_s(pack.programs[pid].family) >= SECOND_WORKER_S else 1 for pid in selected)
    if only_checks:
        want = min(want, len(only_checks))
    return max(1, min(most, want))


class Collector:
    """Gathers check records from test reports (ours, or forwarded by xdist).

    A check whose worker died while running it, or that no worker ever ran
    (pytest stopped after too many dead workers), still gets a record: an
    ``error`` built from the workers' check index (``plugin.check_index_path``),
    never a silent gap in the result.
    """

    def __init__(self, index_path: str | None = None, progress: Callable[[dict], None] | None = None) -> None:
        self.records: list[CheckRecord] = []
        self._pid = os.getpid()  # a forked child (forking.py) inherits this object: only this process reports
        self._progress = progress
        self.total: int | None = None
        self.collect_errors: list[str] = []
        self.crashes: list[str] = []
        self._seen: set[str] = set()
        self._index_path = index_path
        self._index: dict[str, CheckRecord] | None = None
        self._died: set[str] = set()  # checks whose worker died (xdist may run them again)
        #: checks whose worker died and that a new worker then graded
        self.regraded: list[str] = []

    # ---- progress: the number of checks once collected, then each finished one
    def _tell(self, event: dict) -> None:
        if self._progress is not None:
            try:
                self._progress(event)
            except Exception:  # noqa: BLE001 - whoever follows the progress never costs the grading
                self._progress = None

    def _set_total(self, n: int) -> None:
        if self.total is None:
            self.total = n
            self._tell({"event": "total", "total": n})

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        # every worker collects the same checks (after the plugin's deselection): the first one tells
        self._set_total(len(ids))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not session.config.pluginmanager.has_plugin("dsession"):  # one process: it collected itself
            self._set_total(len(session.items))

    def _finished(self, rec: CheckRecord) -> None:
        done = len(self._seen)
        self._tell({"event": "check", "done": done, "total": max(done, self.total or 0), "check": rec.key,
                    "status": str(rec.check.status)})

    def index(self) -> dict[str, CheckRecord]:
        if self._index is None:
            self._index = {}
            if self._index_path:
                with contextlib.suppress(OSError, ValueError):
                    self._index = read_index(self._index_path)
        return self._index

    def _error_record(self, nodeid: str, message: Msg) -> CheckRecord | None:
        base = self.index().get(nodeid)
        return None if base is None else base.judged(Status.ERROR, message)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if os.getpid() != self._pid:
            return
        for key, value in report.user_properties:
            if key == RECORD_KEY:
                rec = CheckRecord.from_json(value)
                if report.nodeid in self._died:
                    # xdist ran the check again in a new worker: that run's verdict stands
                    self.records = [r for r in self.records if r.nodeid != report.nodeid]
                    self.regraded.append(rec.key)
                    self._died.discard(report.nodeid)
                self.records.append(rec)
                new = report.nodeid not in self._seen
                self._seen.add(report.nodeid)
                if new:
                    self._finished(rec)
                return
        if report.failed and report.when not in ("setup", "call", "teardown") and report.nodeid not in self._seen:
            # xdist reports a crashed worker this way ("worker 'gw0' crashed while running ...")
            why = str(report.longrepr).strip().splitlines()[-1][-300:] if report.longrepr else "it died"
            rec = self._error_record(report.nodeid, Msg(N_("grader error: the grader's worker process died while"
                                                           " running this check ({why}); not the program's fault"),
                                                        {"why": why}))
            if rec is None:
                self.crashes.append(f"{report.nodeid}: {str(report.longrepr)[-300:]}")
            else:
                self.records.append(rec)
                self._seen.add(report.nodeid)
                self._died.add(report.nodeid)
                self._finished(rec)

    def never_run(self, why: str) -> None:
        """Give every indexed check that has no record an ``error`` saying it was never run."""
        for nodeid in self.index():
            if nodeid not in self._seen:
                rec = self._error_record(nodeid, Msg(N_("grader error: this check was never run ({why}); not the"
                                                        " program's fault"), {"why": why}))
                self.records.append(rec)
                self._seen.add(nodeid)
                self._finished(rec)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid or 'suites'}: {str(report.longrepr).strip()[-600:]}")


def suite_files(pack: Pack, selected: list[str]) -> list[str]:
    """The suite files a grading of ``selected`` needs: a family's file (``test_<family>.py``) only when a
    selected program is of that family, every other file (checks of every program, ``test_ports.py``) always.
    Each worker imports what it is given: a file of no selected program costs start-up and grades nothing."""
    families = {spec.family for spec in pack.programs.values()}
    wanted = {pack.programs[pid].family for pid in selected}
    files = sorted(Path(suites_dir()).glob("test_*.py"))
    return [str(f) for f in files if f.stem.removeprefix("test_") not in families - wanted]


def _pytest_args(plan_path: str, jobs: int, suites: list[str], forks: bool = False) -> list[str]:
    # Plugin autoloading is off (see run_pytest): only these plugins are loaded.
    args = [*suites,
            "-p", "pytest_timeout", "-p", "netgrade.plugin", "--netgrade-plan", plan_path,
            "-p", "no:cacheprovider",
            # its end-of-session gc.collect() calls cost ~0.3 CPU-s in every worker and report nothing a
            # grading needs (an exception in a finalizer of the grader's own objects)
            "-p", "no:unraisableexception",
            # xdist makes its workers' temp folders here, in the grading run's own (removed at the end)
            "--basetemp", os.path.join(os.path.dirname(plan_path), "pytest"),
            "-c", os.devnull, "--rootdir", suites_dir(), "-q", "--no-header",
            # the suites are given as files (collected whatever their names); a broader pattern would also
            # assertion-rewrite every module imported after start-up (compiled again in every worker, and
            # cached where another path to the same installation reads a wrong file name)
            "-o", "python_files=test_*.py", "-o", "python_functions=test_*",
            "--timeout-method=signal", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    if jobs > 1 and forks:
        # checks side by side in forks of this process (forking.py); each child's output is its own
        # business (a check's prints were never shown), so no capture files are shared between them
        args += ["-p", "netgrade.forking", "--netgrade-forks", str(jobs), "--capture=no"]
    elif jobs > 1:
        args += ["-p", "xdist.plugin", "-p", "netgrade.scheduling", "-n", str(jobs), "--dist", "loadgroup"]
    return args


@contextlib.contextmanager
def xdist_environment_set_aside():
    """Without the xdist worker variables inherited from whatever started netgrade (an instructor's own
    pytest run, netgrade's tests): they belong to that run, and here they would make this run's checks take
    another worker's container pair.  Entered before any thread of the grading starts (another thread
    copying the environment while a variable goes would fail), left after the last has ended."""
    foreign = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PYTEST_XDIST_")}
    try:
        yield
    finally:
        for k in [k for k in os.environ if k.startswith("PYTEST_XDIST_")]:
            del os.environ[k]
        os.environ.update(foreign)


def run_pytest(args: list[str], plugins: list) -> tuple[int, str]:
    """Run pytest in this process with only the plugins netgrade names.

    Whatever else is installed (hypothesis, benchmark, random-order...) is not
    loaded: it would cost start-up time in every worker and could change how
    checks run.  pytest's own output is captured, not shown.
    """
    sink = io.StringIO()
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with xdist_environment_set_aside(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = pytest.main(args, plugins=plugins)
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    # pytest turns Ctrl-C into an exit status (and a partial run): it must not pass for a result
    interrupts.raise_if_received()
    return int(code), sink.getvalue()


def grade(path: str, pack: Pack, opts: Options) -> Result:
    """Grade the submission at ``path``.  Raises BadInput for unusable input."""
    with xdist_environment_set_aside():  # before the Docker runner's container thread starts
        return _grade(path, pack, opts)


def _grade(path: str, pack: Pack, opts: Options) -> Result:
    started = time.monotonic()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if opts.runner not in RUNNERS:
        raise BadInput(f"unknown runner {opts.runner!r} (choose from {', '.join(RUNNERS)})")
    docker = _docker_preflight(opts) if opts.runner == DOCKER else None
    unknown = [p for p in opts.programs if p not in pack.programs]
    if unknown:
        raise BadInput(f"unknown program(s): {', '.join(unknown)} (see `netgrade list`)")
    try:
        sub = open_submission(path)
    except SubmissionError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:  # unpacking into a temporary folder that is full or not writable
        return error_result(Path(path).name, pack.name, opts.runner, Msg(N_("grader error: {error}"),
                                                                          {"error": _temp_fault(exc)}))
    try:
        tmp = tempfile.mkdtemp(prefix="netgrade-")
    except OSError as exc:
        sub.cleanup()
        return error_result(sub.name, pack.name, opts.runner, Msg(N_("grader error: {error}"),
                                                                  {"error": _temp_fault(exc)}))
    try:
        try:
            located = locate(sub, pack, opts.run)
        except SubmissionError as exc:
            raise BadInput(str(exc)) from None
        result = Result(submission=sub.name, pack=pack.name, runner=opts.runner_label or opts.runner, score=0.0, max_score=0.0,
                        started_at=started_at, duration_s=0.0, netgrade_version=__version__)
        finished = False
        try:
            _run(sub, pack, located, opts, tmp, result, docker)
            finished = True
            timings.remember(result)
            _reference_notices(result, sub, pack)
        except Exception as exc:  # the grader failed: say so, never blame the student
            result.status = RunStatus.ERROR
            set_text(result, "message", Msg(N_("grader error: {error}"), {"error": f"{type(exc).__name__}: {exc}"}))
        finally:
            if docker is not None:  # whatever happened (Ctrl-C included), no container is left
                from .docker import engine
                if docker.get("maker") is not None:
                    docker["maker"].join(timeout=120)
                # after a normal end every worker has removed its own; otherwise some may still be coming
                engine.remove_run(docker["client"], docker["run"], settle_s=0.0 if finished else 1.5)
                _without_engine(docker, result)
        result.duration_s = round(time.monotonic() - started, 3)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        sub.cleanup()


def _reference_notices(result: Result, sub: Submission, pack: Pack) -> None:
    """Near-copies of our references get a notice; a problem here never costs the grade."""
    from .copycheck import annotate_result
    try:
        annotate_result(result, sub.root, pack)
    except Exception as exc:  # noqa: BLE001
        add_notice(result, Msg(N_("reference comparison skipped: {error}"), {"error": f"{type(exc).__name__}: {exc}"}))


def _temp_fault(exc: OSError) -> Msg:
    """Why the grader could not use its temporary folder, saying which one and how to choose another."""
    where = os.environ.get("TMPDIR") or "/tmp"
    return Msg(N_("no usable temporary folder for the grading run ({error}; TMPDIR={folder}); set TMPDIR to a"
                  " writable folder with free space"), {"error": str(exc.strerror or exc), "folder": where})


def _without_engine(docker: dict[str, Any], result: Result) -> None:
    """When the engine stopped answering during grading, the run's containers could not be removed
    through it: stop their processes here (the ones this process made; each worker stops its own),
    and say so in the result."""
    from .docker import engine
    gone = engine.unreachable()
    if gone is None:
        return
    made = []
    for path in Path(docker.get("pairs") or os.devnull).glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            info = json.loads(path.read_text("utf-8"))
            made += [(info["grader"], int(info["grader_pid"])), (info["student"], int(info["student_pid"]))]
    stopped = engine.stop_without_engine(made)
    if stopped:
        add_notice(result, Msg(N_("the Docker engine stopped answering during grading ({why}): this run's containers"
                                  " could not be removed through it; netgrade stopped the processes of {count} of"
                                  " them itself, and the engine removes what is left of them when it runs again (or"
                                  " `netgrade image clean`)"), {"why": gone, "count": stopped}))
    else:
        add_notice(result, Msg(N_("the Docker engine stopped answering during grading ({why}): this run's containers"
                                  " could not be removed through it; none of them still runs, and the engine removes"
                                  " what is left of them when it runs again (or `netgrade image clean`)"),
                               {"why": gone}))


def _docker_preflight(opts: Options) -> dict[str, Any]:
    """An engine that answers and the grading image, or BadInput with the reason (exit 2)."""
    import uuid

    from .docker import engine, image
    from .docker.runner import check_tools
    from .sandbox.netns import SandboxError
    if os.geteuid() != 0:
        raise BadInput("the docker runner's direct mode needs root (program runs enter the containers'"
                       " namespaces); `--docker-mode container` (or auto) grades inside a container instead")
    try:
        check_tools()
        client = engine.connect()
        engine.remove_stale(client)
        tag = image.ensure(client, log=lambda msg: None)
    except (engine.EngineError, SandboxError) as exc:
        raise BadInput(str(exc)) from None
    return {"client": client, "image": tag, "run": uuid.uuid4().hex[:12], "owner": os.getpid()}


def _run(sub: Submission, pack: Pack, located: dict, opts: Options, tmp: str, result: Result,
         docker: dict[str, Any] | None = None) -> None:
    selected = opts.programs or list(pack.programs)
    if opts.runner == LOCAL:
        support = namespace_support() if opts.namespaces is None else ("netns" if opts.namespaces else "disabled by option")
        parallel = support == "netns"
        if not parallel:
            if opts.namespaces is None:  # the doctor's line for the local sandbox (`netgrade doctor`)
                from .doctor import fallback_reason
                support = fallback_reason(support)
            add_notice(result, Msg(N_("network namespaces unavailable ({why}): graded on the host's loopback, one"
                                      " check at a time; programs that need a lab address are skipped"),
                                   {"why": support}))
        else:
            from .sandbox import userns
            if userns.single_uid():
                missing = userns.range_missing(userns.outer_uid())
                text = N_("graded without root: the full sandbox in a user namespace of its own; programs run under"
                          " the grader's uid (no uid of their own), so a client's traffic from a port of its own is"
                          " not redirected to the peer")
                if missing:
                    add_notice(result, Msg(N_("{notice} (no subordinate range: {missing}; fix: {fix})"),
                                           {"notice": Msg(text), "missing": missing[0], "fix": missing[1]}))
                else:
                    add_notice(result, Msg(text))
            elif userns.inside():
                add_notice(result, Msg(N_(
                    "graded without root: the full sandbox in a user namespace of its own, each program under a"
                    " uid of its own from your subordinate range (/etc/subuid)")))
        from .sandbox.cgroups import delegated
        why = delegated()[1]
        if why:
            add_notice(result, Msg(N_("no cgroup per program run ({why}): the runs' memory and process limits are"
                                      " their rlimits alone"), {"why": why}))
    else:
        parallel = True
    most = opts.max_jobs or default_jobs()
    if not parallel:
        jobs = 1
    elif opts.jobs:
        jobs = opts.jobs
    elif opts.runner == LOCAL:
        jobs = most  # forks of this process (forking.py): cheap to start, never more than the checks need
    else:
        # xdist workers: a program not handed in has its checks skipped at once and needs no worker
        jobs = selection_jobs(pack, [pid for pid in selected if located[pid].status == Presence.FOUND],
                              list(opts.only_checks), most)
    run = None if docker is None else DockerRun(image=docker["image"], run=docker["run"], owner=docker["owner"],
                                                pairs=os.path.join(tmp, "pairs"))
    plan = Plan(
        pack=pack, submission_name=sub.name, submission_root=str(sub.root), programs=dict(located),
        selected=selected, workbase=make_workbase(tmp), jobs=jobs, only_checks=list(opts.only_checks),
        runner=RunnerChoice(opts.runner, namespaces=None if opts.namespaces is None else bool(opts.namespaces),
                            docker=run),
    )
    if run is not None:
        docker["pairs"] = run.pairs  # read again when the run ends (the pairs' processes, if the engine died)
        # the workers' containers come up while pytest starts the workers
        from .docker.runner import start_pairs
        docker["maker"] = threading.Thread(target=start_pairs, name="netgrade-containers", daemon=True,
                                           args=(docker["client"], run.image, run.run, run.owner, pack.limits,
                                                 jobs, run.pairs))
        docker["maker"].start()
    plan_path = os.path.join(tmp, "plan.json")
    plan.save(plan_path)
    os.chmod(plan_path, 0o600)
    if opts.keep_plan:
        plan.save(opts.keep_plan)
    collector = Collector(check_index_path(plan.workbase), opts.progress)
    code, output = run_pytest(_pytest_args(plan_path, jobs, [*suite_files(pack, selected), *opts.suites],
                                           forks=opts.runner == LOCAL),
                              [collector])
    if collector.collect_errors:
        raise RuntimeError("a suite file could not be loaded: " + " | ".join(collector.collect_errors))
    if code in (2, 3, 4) and not collector.records:
        raise RuntimeError(f"pytest exited with status {code}: {output.strip()[-800:]}")
    stopped = [line.strip() for line in output.splitlines() if "maximum crashed workers" in line]
    collector.never_run(stopped[0] if stopped else f"pytest ended with status {code} before reaching it")
    by_program: dict[str, list[CheckRecord]] = {}
    for rec in collector.records:
        by_program.setdefault(rec.program, []).append(rec)
    without_checks = []
    for pid in selected:
        spec = pack.programs[pid]
        loc = located[pid]
        recs = sorted(by_program.get(pid, []), key=lambda r: r.order)
        if not recs:
            without_checks.append(pid)
            continue
        status = ProgramStatus.GRADED if loc.status == Presence.FOUND else ProgramStatus.MISSING
        prog = ProgramResult(id=pid, file=loc.file, status=status, score=0.0, max_score=0.0, title=spec.title,
                             checks=[r.check for r in recs])
        set_text(prog, "message", loc.note_message())
        if any(c.status == Status.ERROR for c in prog.checks):
            prog.status = ProgramStatus.ERROR if prog.status == ProgramStatus.GRADED else prog.status
        score_program(prog)
        result.programs.append(prog)
    if without_checks:
        add_notice(result, Msg(N_("no checks in the suites for: {programs}"), {"programs": ", ".join(without_checks)}))
    if collector.crashes:
        add_notice(result, Msg(N_("pytest worker crashes: {crashes}"), {"crashes": " | ".join(collector.crashes)}))
    if collector.regraded:
        add_notice(result, Msg(N_("the grader's worker process died while grading {checks}; graded again in a new"
                                  " worker"), {"checks": ", ".join(collector.regraded)}))
    total(result)


def error_result(submission: str, pack_name: str, runner: str, message: Any) -> Result:
    """A result that records why nothing could be graded (``message``: a Msg, or a text shown as it is)."""
    result = Result(submission=submission, pack=pack_name, runner=runner, score=0.0, max_score=0.0,
                    started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), duration_s=0.0,
                    status=RunStatus.ERROR, netgrade_version=__version__)
    set_text(result, "message", message if isinstance(message, Msg) else literal(str(message)))
    return result


def load_pack(path: str | None, suites: list[str] | None = None, *, checks: bool = True) -> Pack:
    """The default pack merged with ``path``; BadInput (one line: file and key) if malformed or if it
    names a check that neither our suites nor ``suites`` define (``checks=False``: a batch's grading
    process, whose batch checked them once)."""
    from . import pack as packmod
    from .catalog import unknown_check_keys
    try:
        pack = packmod.load(path)
    except PackError as exc:
        raise BadInput(str(exc)) from None
    problem = unknown_check_keys(pack, suites) if path and checks else None
    if problem:
        raise BadInput(problem)
    return pack


def pack_limits(pack_file: str | None) -> Limits:
    """The limits of the pack ``pack_file`` merges (the default's where it is unusable: the grading that reads
    it says what is wrong with it)."""
    try:
        return load_pack(pack_file, checks=False).limits
    except BadInput:
        return load_pack(None, checks=False).limits
