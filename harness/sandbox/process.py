"""One program run: scripted stdin, captured output, waiting on events.

Nothing here sleeps for a fixed time.  Waiting for output or an exit blocks on
a condition variable that the output readers signal; waiting for a port polls
the sandbox's socket table at a short interval until a deadline; CPU use is
sampled over a window the caller chooses.  Output is kept up to a cap per
stream (the first and the last ``cap`` bytes, with a count of what was left
out), so a program printing gigabytes costs the grader nothing.
"""
from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import subprocess
import threading
import time
from typing import Callable

import psutil

from ..evidence import Evidence, msg_fields, payload_fields
from ..i18n import N_, Msg, message
from ..text import decode, printable, traceback_tail
from .netns import Listener


class CappedBuffer:
    """The first and last ``cap`` bytes of a stream, and how much was dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def append(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.cap:
                del self.tail[: len(self.tail) - self.cap]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def bytes(self) -> bytes:
        return bytes(self.head + self.tail)

    def text(self) -> str:
        if self.dropped:
            marker = f"\n[… {self.dropped} bytes left out …]\n".encode()
            return decode(bytes(self.head)) + decode(marker) + decode(bytes(self.tail))
        return decode(self.bytes())


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (its children, theirs...), alive now.

    Read from each thread's ``/proc/PID/task/TID/children``: a look at the
    run's own processes, where psutil's ``children()`` reads the parent of
    every process on the machine (30 ms a call on a busy grading machine, many
    calls a check).  Where the kernel has no such file: psutil.
    """
    if not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        with contextlib.suppress(psutil.Error):
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        return []
    found: list[int] = []
    seen, todo = {pid}, [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    kids = f.read().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in seen:
                    seen.add(kid)
                    found.append(kid)
                    todo.append(kid)
    return found


PF_EXITING = 0x4  # a process's flags (field 9 of /proc/PID/stat) while it ends


def exiting(pid: int) -> bool:
    """True while ``pid`` is ending (its memory gone, its files maybe not yet) or has ended."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return bool(int(fields[6]) & PF_EXITING)


def socket_inodes(pids: list[int]) -> tuple[set[int], bool]:
    """(inodes of the sockets that ``pids`` hold open, whether every one of their descriptor tables could be
    read).  A process that ended meanwhile holds none; one whose table the grader may not read (another
    user's, without privileges) makes the answer incomplete.  A process that is ending counts as holding
    none: its table is the machine root's then (the grader in a user namespace may not read it), and
    whatever it still holds is being closed."""
    found: set[int] = set()
    complete = True
    for pid in pids:
        base = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(base)
        except FileNotFoundError:
            continue
        except PermissionError:
            if not exiting(pid):
                complete = False
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{base}/{fd}")
            except PermissionError:  # the table may be listed, its entries not (no CAP_SYS_PTRACE)
                if not exiting(pid):
                    complete = False
                break
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                found.add(int(target[8:-1]))
    return found, complete


def socket_holder(inode: int) -> str | None:
    """Which process of this machine holds the socket ``inode`` open ("pid 123: python3 server.py"), or None
    when none the grader can see does.  Reads every process's descriptor table: for error messages only."""
    needle = f"socket:[{inode}]"
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{name}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{name}/fd/{fd}") != needle:
                    continue
            except OSError:
                continue
            return describe_process(int(name))
    return None


def describe_process(pid: int) -> str:
    """``pid`` and its command line, for a message ("pid 123: python3 server.py")."""
    cmd = b"?"
    with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
        cmd = f.read().replace(b"\0", b" ").strip()
    return f"pid {pid}: {printable(decode(cmd)[:160], keep_newlines=False)}"


def wait_ended(pids: list[int], timeout: float) -> None:
    """Wait until every one of ``pids`` has ended (a zombie has), or ``timeout`` passes."""
    fds = []
    for pid in pids:
        with contextlib.suppress(AttributeError, OSError):
            fds.append(os.pidfd_open(pid))
    wait_pidfds(fds, timeout)


def wait_pidfds(pidfds: list[int], timeout: float) -> None:
    """Wait until every process of ``pidfds`` has ended, or ``timeout`` passes; closes them."""
    deadline = time.monotonic() + timeout
    try:
        waiter = select.poll()
        for fd in pidfds:
            waiter.register(fd, select.POLLIN)
        left = len(pidfds)
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                break
            ready = waiter.poll(wait * 1000)
            for fd, _ in ready:
                waiter.unregister(fd)
                left -= 1
    finally:
        for fd in pidfds:
            os.close(fd)


class ProgramRun:
    """A started program.  Create through ``Sandbox.start``."""

    POLL_S = 0.005

    def __init__(self, argv: list[str], *, label: str, command: list[str], env: dict[str, str],
                 cwd: str | None, pass_fds: tuple[int, ...], evidence: Evidence, output_cap: int,
                 listeners: Callable[[], list[Listener]], workdir: str, new_session: bool,
                 status_fd: int | None = None) -> None:
        self.label = label
        self.command = command
        self._status_fd = status_fd  # read end of the launcher's status pipe (see setup_failure)
        self._setup_failure: str | None = None
        self.workdir = workdir  # as the program sees it
        self.work = None  # its WorkFolder, as the grader reaches it (set by Sandbox.start)
        self.evidence = evidence
        self._listeners = listeners
        self._cond = threading.Condition()
        self.stdout = CappedBuffer(output_cap)
        self.stderr = CappedBuffer(output_cap)
        self._eof = {"stdout": False, "stderr": False}
        self.started = time.monotonic()
        self.ended: float | None = None
        self.stdin_log: list[str] = []
        self._killed_by_grader = False
        self.listener: Listener | None = None  # set once a server is seen listening
        self.redirect_table: str | None = None  # set by Sandbox.start for redirected clients
        # set by a runner that holds runs to a cgroup: why the kernel ended it ("killed: memory limit 256 MiB")
        self.limit_probe: Callable[[], Msg | str | None] | None = None
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=cwd, pass_fds=pass_fds, start_new_session=new_session, close_fds=True,
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        self._ps: psutil.Process | None
        try:
            self._ps = psutil.Process(self.proc.pid)
        except psutil.Error:
            self._ps = None
        self._seen_pids: set[int] = set()
        self._cpu_cache = 0.0
        #: inodes of the sockets seen held by this run's processes (kept once seen: a listener the program
        #: passed to a child, or held as it ended, stays its own)
        self._own_sockets: set[int] = set()
        evidence.add("start", who=label, command=command)
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, "stderr"), daemon=True),
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------ output
    def _pump(self, stream, buf: CappedBuffer, name: str) -> None:
        fd = stream.fileno()
        logged = 0
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            with self._cond:
                buf.append(chunk)
                self._cond.notify_all()
            if logged < 60:  # the first chunks go into the timeline
                logged += 1
                self.evidence.add(name, who=self.label, **payload_fields(chunk))
        with self._cond:
            self._eof[name] = True
            self._cond.notify_all()

    @property
    def out(self) -> str:
        """Everything kept of stdout, decoded for display and matching."""
        with self._cond:
            return self.stdout.text()

    @property
    def err(self) -> str:
        with self._cond:
            return self.stderr.text()

    def stdout_snapshot(self) -> tuple[bytes, bytes, int]:
        """(first kept bytes, last kept bytes, total bytes printed), taken consistently."""
        with self._cond:
            return bytes(self.stdout.head), bytes(self.stdout.tail), self.stdout.total

    def wait_output(self, needle: str, timeout: float, *, count: int = 1, stream: str = "stdout") -> bool:
        """Wait until ``needle`` appears ``count`` times in the output (or the program ends)."""
        buf = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if buf.text().count(needle) >= count:
                    return True
                if self._eof[stream]:
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    def wait_output_growth(self, timeout: float, since: int) -> bool:
        """Wait until stdout holds more than ``since`` bytes in total."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.stdout.total <= since and not self._eof["stdout"]:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return self.stdout.total > since

    # ------------------------------------------------------------ stdin
    def write(self, text: str, timeout: float = 2.0) -> bool:
        """Send ``text`` to the program's stdin.  False if it no longer reads it."""
        data = text.encode("utf-8")
        self.stdin_log.append(text)
        self.evidence.add("stdin", who=self.label, text=printable(text, keep_newlines=False))
        fd = self.proc.stdin.fileno()
        deadline = time.monotonic() + timeout
        while data:
            try:
                n = os.write(fd, data)
                data = data[n:]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [fd], [], left)[1]:
                    self.evidence.note(Msg(N_("{label} did not read its input within {seconds} s"),
                                           {"label": self.label, "seconds": f"{timeout:g}"}))
                    return False
            except (BrokenPipeError, OSError):
                self.evidence.note(Msg(N_("{label} no longer reads its input (stdin closed)"), {"label": self.label}))
                return False
        return True

    def writeline(self, line: str, timeout: float = 2.0) -> bool:
        return self.write(line + "\n", timeout)

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        self.evidence.add("stdin-closed", who=self.label)

    # ------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status once the program ends, or None if it still runs at the deadline."""
        code = self._wait(timeout)
        if code is None:
            return None
        self._finish()
        return code

    def _wait(self, timeout: float) -> int | None:
        """Block until the program's first process ends (its status) or ``timeout`` passes (None).

        Woken by the kernel through a pidfd the moment it ends; ``Popen.wait``
        with a timeout polls, up to 50 ms late each time, and the grader waits
        for an exit several times a check.  Only this object reaps the process,
        so its pid cannot name another one until then.
        """
        code = self.proc.poll()
        if code is not None:
            return code
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            fd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):  # no pidfd (old kernel) or already reaped: Popen's own wait
            try:
                return self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return None
        try:
            waiter = select.poll()  # not select(): a grader holding many sockets has fds above 1023
            waiter.register(fd, select.POLLIN)
            while True:
                left = deadline - time.monotonic()
                if left > 0:
                    waiter.poll(left * 1000)
                code = self.proc.poll()
                if code is not None or left <= 0:
                    return code
        finally:
            os.close(fd)

    def setup_failure(self) -> str | None:
        """The launcher's reason when it could not set the run up (the program never ran), else None.

        Only the launcher writes to the status pipe; the program never holds it (it is closed when the
        program is executed), so whatever the program prints or exits with, it cannot pass for this.
        """
        if self._status_fd is not None and self.proc.poll() is not None:
            chunks = []
            while True:
                try:
                    chunk = os.read(self._status_fd, 4096)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(self._status_fd)
            self._status_fd = None
            text = b"".join(chunks).decode("utf-8", "replace").strip()
            if text:
                self._setup_failure = text[-300:]
        return self._setup_failure

    def _finish(self) -> None:
        if self.ended is None:
            self.ended = time.monotonic()
            for t in self._threads:
                t.join(timeout=1.0)
            failed = self.setup_failure()
            if failed:
                from .netns import SandboxError
                raise SandboxError(f"the sandbox could not start {self.label}: {failed}")
            self.evidence.add("exit", who=self.label, status=self.exit_message())

    def describe_exit(self) -> str:
        return str(self.exit_message())

    def exit_message(self) -> Msg:
        """How the program ended (or that it still runs), as a message."""
        code = self.proc.poll()
        # a runner that holds runs to a cgroup knows when the kernel enforced a limit
        reason = self.limit_probe() if self.limit_probe is not None else None
        if code is None:
            if reason:
                return Msg(N_("still running ({reason} in one of its processes)"), {"reason": reason})
            return Msg(N_("still running"))
        if code < 0 or code > 128 and code - 128 in signal.Signals._value2member_map_:
            sig = -code if code < 0 else code - 128
            name = signal.Signals(sig).name
            if self._killed_by_grader:
                if reason:
                    return Msg(N_("stopped by the grader ({signal}); earlier, {reason} in one of its processes"),
                               {"signal": name, "reason": reason})
                return Msg(N_("stopped by the grader ({signal})"), {"signal": name})
            return message(reason) if reason else Msg(N_("killed by {signal}"), {"signal": name})
        if reason:
            return Msg(N_("exited with status {code} ({reason})"), {"code": code, "reason": reason})
        return Msg(N_("exited with status {code}"), {"code": code})

    def crash_summary(self) -> Msg:
        """A short account of how the program ended, with its traceback's last lines."""
        tb = traceback_tail(self.err)
        desc = self.exit_message()
        if tb:
            return Msg(N_("{exit}; traceback ends with:\n{traceback}"), {"exit": desc, "traceback": tb})
        err = self.err.strip()
        if err:
            return Msg(N_("{exit}; stderr ends with:\n{stderr}"), {"exit": desc, "stderr": printable(err[-400:])})
        return desc

    # ------------------------------------------------------------ sockets
    def wait_listening(self, proto: str, port: int, timeout: float) -> Listener | None:
        """Wait until a socket of ``proto`` listens on ``port`` in the sandbox.

        Returns early (None) when the program ends first.
        """
        lst = self.wait_listening_any(proto, port, timeout, grace=math.inf)
        return lst if lst is not None and lst.port == port else None

    def wait_listening_any(self, proto: str, port: int, timeout: float, grace: float = 0.3) -> Listener | None:
        """Like ``wait_listening``, but settle for another port of ``proto``.

        The sheet's port wins if it shows up; a listener on another port is
        taken once it has been there ``grace`` seconds without the sheet's
        port, or when the program ends.  Polls the socket table until then
        (waking early if the program prints), with one last look at the end:
        a program may bind just before it exits.
        """
        deadline = time.monotonic() + timeout
        other_since: float | None = None
        pause = self.POLL_S
        while True:
            stopped = not self.running
            ending = stopped or time.monotonic() >= deadline
            looked = time.monotonic()
            found = self.own([lst for lst in self._listeners() if lst.proto == proto])
            # a program holding thousands of sockets makes each look expensive: look less often, so
            # polling never costs more than a fifth of a core whatever the program does
            pause = max(self.POLL_S, 4 * (time.monotonic() - looked))
            exact = [lst for lst in found if lst.port == port]
            if exact:
                return exact[0]
            if found:
                now = time.monotonic()
                other_since = other_since or now
                if stopped or now - other_since >= grace:
                    return found[0]
            if ending:
                return None
            with self._cond:
                self._cond.wait(pause)

    def processes(self) -> list[int]:
        """The run's processes alive now: its first one and everything below it."""
        if self.proc.poll() is not None:
            return []
        return [self.proc.pid, *descendants(self.proc.pid)]

    def own(self, listeners: list[Listener]) -> list[Listener]:
        """Those of ``listeners`` whose socket this run's processes hold open.

        The socket table is the whole network's: another socket on the sheet's port (a process left by an
        earlier check, something of the machine on the host's loopback) is never taken for the program's.
        Where the run's descriptor tables cannot be read, every one of ``listeners`` (as before).
        """
        if all(lst.inode in self._own_sockets for lst in listeners):
            return listeners
        inodes, complete = socket_inodes(self.processes())
        self._own_sockets |= inodes
        if not complete:
            return listeners
        return [lst for lst in listeners if lst.inode in self._own_sockets]

    def waiting_for_input(self) -> bool:
        """True when the program is blocked reading its stdin (``read(0, ...)``).

        Read from ``/proc/PID/syscall`` of every process of the run: syscall 0
        (read) on file descriptor 0.  x86-64 numbering; elsewhere it says False.
        """
        if self._ps is None or not self.running:
            return False
        for pid in descendants(self.proc.pid):
            try:
                with open(f"/proc/{pid}/syscall") as f:
                    fields = f.read().split()
            except OSError:
                continue
            if len(fields) >= 2 and fields[0] == "0" and int(fields[1], 16) == 0:
                return True
        return False

    def listening_elsewhere(self, proto: str | None = None) -> list[Listener]:
        return [lst for lst in self._listeners() if proto is None or lst.proto == proto]

    # ------------------------------------------------------------ CPU
    def cpu_seconds(self) -> float:
        """CPU time used by the program and everything it started (alive or reaped)."""
        if self._ps is None:
            return 0.0
        total = 0.0
        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            with contextlib.suppress(psutil.Error):
                t = (self._ps if pid == self.proc.pid else psutil.Process(pid)).cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        self._cpu_cache = max(self._cpu_cache, total)
        return self._cpu_cache

    def _runnable_ns(self) -> int | None:
        """Nanoseconds the program's processes spent on a CPU or waiting for one."""
        if self._ps is None:
            return None
        total, seen = 0, False
        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            try:
                with open(f"/proc/{pid}/schedstat") as f:
                    on_cpu, waiting, _ = f.read().split()
            except (OSError, ValueError):
                continue
            total += int(on_cpu) + int(waiting)
            seen = True
        return total if seen else None

    def cpu_share(self, window: float) -> float:
        """How much of the next ``window`` seconds the program wanted a CPU (1.0 = never slept).

        Measured from ``/proc/PID/schedstat`` (time on a CPU plus time waiting
        for one), so a busy loop reads ~100 % even when the grading machine is
        loaded, and a sleeping program ~0 %.  Falls back to CPU time where
        schedstat is missing.  The window ends early if the program exits, and
        a program that exited is not spinning (0.0).
        """
        a_ns = self._runnable_ns()
        a_cpu = self.cpu_seconds() if a_ns is None else 0.0
        t0 = time.monotonic()
        self._wait(window)
        dt = time.monotonic() - t0
        if not self.running or dt <= 0:
            return 0.0
        if a_ns is not None:
            b_ns = self._runnable_ns()
            return max(0, (b_ns or a_ns) - a_ns) / 1e9 / dt
        return (self.cpu_seconds() - a_cpu) / dt

    # ------------------------------------------------------------ end
    def kill(self) -> None:
        """End the program and everything it started."""
        pidfds: list[int] = []
        if self.proc.poll() is None:
            self._killed_by_grader = True
            procs = []
            for pid in descendants(self.proc.pid):
                with contextlib.suppress(psutil.Error):
                    procs.append(psutil.Process(pid))  # kill() checks it is still that process
                with contextlib.suppress(AttributeError, OSError):
                    pidfds.append(os.pidfd_open(pid))  # names that process, whatever pid it had
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            # in host mode there is no pid namespace: take the whole session down too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    p.kill()
        self._wait(5)
        # ended, not only signalled: a socket of theirs must not outlive the check (the next one may use the
        # same network); a pidfd is readable once its process has ended (zombies included)
        wait_pidfds(pidfds, 2.0)
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self._finish()
        except Exception:
            pass

    def report(self, waiting_for_input: bool = False) -> dict:
        """What the evidence keeps of this run."""
        return {
            "waiting_for_input": waiting_for_input,
            "label": self.label,
            "command": self.command,
            **msg_fields({"exit": self.exit_message()}),
            "duration_s": round((self.ended or time.monotonic()) - self.started, 3),
            "cpu_s": round(self._cpu_cache, 3),
            "stdin": printable("".join(self.stdin_log))[-4000:],
            "stdout": printable(self.out),
            "stdout_bytes": self.stdout.total,
            "stdout_dropped": self.stdout.dropped,
            "stderr": printable(self.err),
            "stderr_bytes": self.stderr.total,
            "stderr_dropped": self.stderr.dropped,
        }

