"""Checks run side by side in forked copies of the grading process: the local runner's parallelism.

A check mostly waits (for a program to start, a reply, a student's timer), so
several run at once.  pytest-xdist gives each worker a fresh interpreter that
imports pytest, netgrade and the suites and collects every check again: about
a CPU-second a worker on this machine's cores, paid again by every grading.
Here the grading process collects once and forks ``--netgrade-forks``
children that inherit all of it; each is given a *unit* at a time (a check, or
the checks that must run in one process, in order: an ``xdist_group``, e.g. a
program's port and address checks, whose memo the second one reads) and asks
for the next when it is done.  A fork per check would cost more: every fork
copies the page tables of a process of a hundred megabytes and the pages each
child then writes (measured: twice xdist's system time for the whole pack).

The groups go first; a check marked ``netgrade_after(GROUP)`` (the plugin
marks a program's other checks with its group) starts once that group is
done, so it reads the group's memos (the program hangs: wait less) instead of
every check of a hanging program waiting the full time side by side.

A child runs its unit through pytest's own protocol (fixtures, pytest-timeout,
the netgrade plugin's verdicts) and sends each report to the grading process
over a pipe, serialized by pytest's own hooks; the grading process hands them
to ``pytest_runtest_logreport`` as if it had run the checks, so the collector
of results sees what it sees under xdist.

A child that dies mid-check (killed, out of memory) is reported as xdist
reports a crashed worker, its unfinished checks are given to a new child; a
check whose child dies again gets no third (the collector makes it an
``error``).  A child stuck past its unit's time limits is killed the same way.
Ctrl-C or SIGTERM in the grading process is passed on to the children, which
end their checks' sandboxes; any still there after a grace period are killed.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import math
import os
import selectors
import signal
import struct
import time

import pytest

#: seconds the children get to close their sandboxes once the grading is interrupted
GRACE_S = 10.0
#: seconds a child gets beyond its checks' own time limits (fixtures set up and ended), and the limit of a
#: check that has none (an instructor's suite run without the pack's limit)
UNIT_MARGIN_S = float(os.environ.get("NETGRADE_FORK_MARGIN_S") or 30.0)  # the variable: for tests
UNMARKED_S = 300.0
_HEADER = struct.Struct("!I")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netgrade")
    group.addoption("--netgrade-forks", type=int, default=0,
                    help="run this many checks at once, each in a fork of this process (0: one at a time here)")


def _group(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    return None if mark is None else (mark.args[0] if mark.args else mark.kwargs.get("name"))


def _after(unit: list[pytest.Item]) -> str | None:
    """The group ``unit`` waits for (its first item's ``netgrade_after`` mark), if any."""
    mark = unit[0].get_closest_marker("netgrade_after")
    return mark.args[0] if mark is not None and mark.args else None


def units_of(items: list[pytest.Item]) -> list[list[pytest.Item]]:
    """The items in units: an ``xdist_group``'s items together (in their order), every other item alone; the
    groups first, then the rest, each in collection order."""
    units: list[list[pytest.Item]] = []
    groups: dict[str, list[pytest.Item]] = {}
    # the groups first: the checks marked ``netgrade_after`` one of them start once it is done
    for item in items:
        name = _group(item)
        if name is None:
            units.append([item])
        elif name in groups:
            groups[name].append(item)
        else:
            groups[name] = [item]
            units.append(groups[name])
    return sorted(units, key=lambda u: _group(u[0]) is None)  # stable: the groups first, in their order


# ------------------------------------------------------------------ the child

def _name(name: bytes) -> None:
    """The process's name as ps and top show it (PR_SET_NAME): a child tells itself from its parent."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name[:15]), 0, 0, 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Sender:
    """In a child: every report of its checks, down the pipe."""

    def __init__(self, config: pytest.Config, fd: int) -> None:
        self.config, self.fd = config, fd

    def send(self, message: dict) -> None:
        data = json.dumps(message, default=repr).encode("utf-8")
        _write_all(self.fd, _HEADER.pack(len(data)) + data)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        self.send({"report": data})


def _child(session: pytest.Session, commands: int, reports: int) -> int:
    """A child's life: run each unit the grading process sends (item indices, a line of JSON), report its
    checks, say when it is done; end when the command pipe closes."""
    config = session.config
    sender = _Sender(config, reports)
    config.pluginmanager.register(sender, "netgrade-fork-sender")
    items = session.items
    try:
        with os.fdopen(commands, "rb") as lines:
            for line in lines:
                unit = [items[i] for i in json.loads(line)]
                for i, item in enumerate(unit):
                    # every unit ends its fixtures: the next one may be anything (the checks' fixtures are
                    # per check, so this costs nothing)
                    nextitem = unit[i + 1] if i + 1 < len(unit) else None
                    item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                sender.send({"done": True})
        return 0
    except BaseException:  # noqa: BLE001 - interrupted: end the fixtures (the sandboxes) as pytest would
        with contextlib.suppress(BaseException):
            session._setupstate.teardown_exact(None)
        return 1


def _fork(session: pytest.Session) -> tuple[int, int, int]:
    """Start a child; (pid, the write end of its command pipe, the read end of its report pipe)."""
    cmd_r, cmd_w = os.pipe()
    rep_r, rep_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never back into the grading process's code
        code = 1
        try:
            os.close(cmd_w)
            os.close(rep_r)
            _name(b"netgrade-check")
            code = _child(session, cmd_r, rep_w)
        finally:
            os._exit(code)
    os.close(cmd_r)
    os.close(rep_w)
    return pid, cmd_w, rep_r


# ------------------------------------------------------------------ the grading process

def unit_deadline_s(unit: list[pytest.Item]) -> float:
    """Seconds a child may take for ``unit``: each check's own ceiling (its pytest-timeout mark), and
    UNIT_MARGIN_S for starting and ending; past it the child is stuck beyond what a check can do (a lock
    some thread of the grading process held when it forked) and is killed."""
    total = 0.0
    for item in unit:
        mark = item.get_closest_marker("timeout")
        total += float(mark.args[0]) if mark is not None and mark.args else UNMARKED_S
    return total + UNIT_MARGIN_S


class _Child:
    def __init__(self, pid: int, cmd: int, fd: int) -> None:
        self.pid, self.cmd, self.fd = pid, cmd, fd
        self.buf = b""
        self.unit: list[pytest.Item] | None = None  # what it runs now (None: idle)
        self.finished: set[str] = set()  # node ids of the unit whose teardown report came
        self.started: set[str] = set()
        self.deadline = math.inf

    def give(self, unit: list[pytest.Item], index: dict[str, int]) -> None:
        self.unit, self.finished, self.started = unit, set(), set()
        self.deadline = time.monotonic() + unit_deadline_s(unit)
        _write_all(self.cmd, (json.dumps([index[item.nodeid] for item in unit]) + "\n").encode())

    def messages(self, data: bytes) -> list[dict]:
        self.buf += data
        out = []
        while len(self.buf) >= _HEADER.size:
            (n,) = _HEADER.unpack_from(self.buf)
            if len(self.buf) < _HEADER.size + n:
                break
            out.append(json.loads(self.buf[_HEADER.size:_HEADER.size + n]))
            self.buf = self.buf[_HEADER.size + n:]
        return out


class ForkScheduler:
    """Runs the session's items in ``forks`` children forked once, each given a unit at a time."""

    def __init__(self, session: pytest.Session, forks: int) -> None:
        self.session, self.config = session, session.config
        self.todo = units_of(list(session.items))
        self.forks = max(1, min(forks, len(self.todo)))
        self.index = {item.nodeid: i for i, item in enumerate(session.items)}
        #: groups not finished yet (a unit marked ``netgrade_after`` one of them waits)
        self.pending_groups = {g for u in self.todo if (g := _group(u[0])) is not None}
        self.retried: set[str] = set()  # node ids given a second child
        self.children: dict[int, _Child] = {}
        #: children that may still be forked to replace dead ones: a check is given at most two children,
        #: so no grading forks more than this
        self.spare = 2 * len(session.items) + self.forks
        self.sel = selectors.DefaultSelector()

    def run(self) -> None:
        if not self.todo:
            return
        self.config.hook.pytest_netgrade_before_forks(config=self.config)
        gc.collect()
        gc.freeze()  # the children share the warm process's pages: no collection touching them all
        try:
            for _ in range(self.forks):
                self._spawn()
            while self.todo or any(c.unit is not None for c in self.children.values()):
                self._dispatch()
                for key, _ in self.sel.select(timeout=self._until_next_deadline()):
                    self._read(key.data)
                self._kill_overdue()
                if self.session.shouldstop or self.session.shouldfail:
                    break
                if not self.children:  # every child died and none may be forked again
                    break
            self._finish()
        except BaseException:
            self._stop_all()
            raise
        finally:
            gc.unfreeze()
            self.sel.close()

    def _spawn(self) -> None:
        pid, cmd, fd = _fork(self.session)
        child = _Child(pid, cmd, fd)
        self.children[pid] = child
        self.sel.register(fd, selectors.EVENT_READ, child)

    def _dispatch(self) -> None:
        for child in self.children.values():
            if child.unit is None:
                unit = self._next_unit()
                if unit is None:
                    return
                try:
                    child.give(unit, self.index)
                except OSError:  # it has just died: the unit goes back, its end is read next
                    self.todo.insert(0, unit)
                    return

    def _next_unit(self) -> list[pytest.Item] | None:
        """The first unit that may start now: not waiting for a group still pending."""
        for i, unit in enumerate(self.todo):
            if _after(unit) not in self.pending_groups:
                return self.todo.pop(i)
        if self.todo and not any(c.unit is not None for c in self.children.values()):
            self.pending_groups.clear()  # nothing could end the wait (never expected): no waiting then
            return self.todo.pop(0)
        return None

    def _until_next_deadline(self) -> float:
        nearest = min((c.deadline for c in self.children.values()), default=math.inf)
        return min(60.0, max(0.0, nearest - time.monotonic()))

    def _kill_overdue(self) -> None:
        """A child past its unit's deadline is killed; its pipe's end then reports it as dead (``_read``)."""
        now = time.monotonic()
        for child in self.children.values():
            if now >= child.deadline:
                with contextlib.suppress(OSError):
                    os.kill(child.pid, signal.SIGKILL)
                child.deadline = math.inf

    def _read(self, child: _Child) -> None:
        try:
            data = os.read(child.fd, 1 << 16)
        except InterruptedError:
            return
        if data:
            for message in child.messages(data):
                if "report" in message:
                    self._report(child, message)
                elif message.get("done"):
                    self._unit_done(child)
            return
        status = self._reap(child)
        unit, child.unit = child.unit, None
        requeued = False
        if unit is not None:
            left = [item for item in unit if item.nodeid not in child.finished]
            requeued = bool(left) and self._died(status, left)
            if not requeued:
                self.pending_groups.discard(_group(unit[0]))
        if (self.todo or requeued) and self.spare > 0:
            self.spare -= 1
            self._spawn()

    def _unit_done(self, child: _Child) -> None:
        unit, child.unit, child.deadline = child.unit, None, math.inf
        if unit is not None:
            self.pending_groups.discard(_group(unit[0]))

    def _report(self, child: _Child, message: dict) -> None:
        rep = self.config.hook.pytest_report_from_serializable(config=self.config, data=message["report"])
        if rep is None:
            return
        if rep.nodeid not in child.started:
            child.started.add(rep.nodeid)
            self.config.hook.pytest_runtest_logstart(nodeid=rep.nodeid, location=rep.location)
        self.config.hook.pytest_runtest_logreport(report=rep)
        if rep.when == "teardown":
            child.finished.add(rep.nodeid)
            self.config.hook.pytest_runtest_logfinish(nodeid=rep.nodeid, location=rep.location)

    def _died(self, status: int, left: list[pytest.Item]) -> bool:
        """A child ended before its unit did: the check it was in reported as a crashed worker, the rest of
        the unit given one more child (a check whose child died twice gets none).  True if given one."""
        how = (f"killed by {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")
        item = left[0]
        rep = pytest.TestReport(item.nodeid, item.location, {}, "failed",
                                f"the grading process of this check died ({how})", "???")
        self.config.hook.pytest_runtest_logreport(report=rep)
        if item.nodeid in self.retried:
            left = left[1:]  # its second death: no third child (the rest of the unit still gets one)
        self.retried.add(item.nodeid)
        if left and not self.session.shouldstop:
            self.todo.insert(0, left)
            return True
        return False

    def _finish(self) -> None:
        """Every unit done: the children's command pipes closed, so they end; each reaped at its pipe's end."""
        for child in self.children.values():
            with contextlib.suppress(OSError):
                os.close(child.cmd)
            child.cmd = -1
        self._wait_for_ends()

    def _stop_all(self) -> None:
        """Pass the interrupt on; the children end their checks (what they still report is dropped: the
        grading is over)."""
        for pid in self.children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGINT)
        self._wait_for_ends()

    def _wait_for_ends(self) -> None:
        """Each child's report pipe closes when it exits: read (and drop) until every one has, GRACE_S at
        most, then kill what is left.  A second Ctrl-C does not cut the wait short."""
        deadline = time.monotonic() + GRACE_S
        while self.children and time.monotonic() < deadline:
            with contextlib.suppress(BaseException):
                for key, _ in self.sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    child = key.data
                    with contextlib.suppress(InterruptedError):
                        if os.read(child.fd, 1 << 16):
                            continue
                    self._reap(child)
        self._kill_all()

    def _kill_all(self) -> None:
        for child in list(self.children.values()):
            with contextlib.suppress(OSError):
                os.kill(child.pid, signal.SIGKILL)
            self._reap(child)

    def _reap(self, child: _Child) -> int:
        """Forget an ended child (its report pipe at its end): its exit status."""
        self.sel.unregister(child.fd)
        os.close(child.fd)
        if child.cmd >= 0:
            with contextlib.suppress(OSError):
                os.close(child.cmd)
            child.cmd = -1
        self.children.pop(child.pid, None)
        try:
            return os.waitpid(child.pid, 0)[1]
        except ChildProcessError:
            return 0


class Hooks:
    @pytest.hookspec
    def pytest_netgrade_before_forks(self, config: pytest.Config) -> None:
        """In the grading process, before the first child: make what every child should inherit."""


def add_hooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Declare the fork hook (once: by this plugin or by netgrade's, which implements it).  A plugin that
    implements it before it is declared leaves a caller with no specification; that one gets it."""
    caller = getattr(pluginmanager.hook, "pytest_netgrade_before_forks", None)
    if caller is None or caller.spec is None:
        pluginmanager.add_hookspecs(Hooks)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    add_hooks(pluginmanager)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    forks = session.config.getoption("--netgrade-forks")
    if not forks or session.config.option.collectonly:
        return None  # pytest's own loop
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} error{'s' if session.testsfailed != 1 else ''}"
                                  " during collection")
    ForkScheduler(session, forks).run()
    return True
