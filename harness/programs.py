"""The program under test and its reference counterparts, inside a check's sandbox.

The check API's view of programs: ``ProgramUnderTest`` (the student's program,
started with a private copy of the submission) and ``References`` (ours).
The sheet's address policy is in ``netgrade.addresses``, the input hints in
``netgrade.hints``, the conntrack lookup in ``netgrade.sandbox.conntrack``.
"""
from __future__ import annotations

import functools
import ipaddress
from pathlib import Path

import pytest

from . import reffiles
from .addresses import off_loopback_addresses, sheet_address, sheet_addresses_text
from .failure import fail
from .i18n import N_, Msg
from .hints import run_input_hint
from .memos import NOT_LISTENING, has_memo, leave_memo
from .pack import Pack, Program
from .sandbox import ProgramRun, Sandbox, SandboxError
from .sandbox.conntrack import original_destination
from .sandbox.netns import hostname_address, unprivileged_port_start
from .submission import Located

__all__ = [
    "HUNG_BEFORE_READY_S", "ProgramUnderTest", "References", "host_mode_guard", "not_listening_message",
    # moved to their own modules; still importable from here because the suites import them from
    # netgrade.programs (suites/test_ports.py, test_tcp.py, test_udp.py, test_framing.py)
    "original_destination", "run_input_hint", "sheet_address", "sheet_addresses_text",
]

HUNG_BEFORE_READY_S = 0.5


def host_mode_guard(sandbox: Sandbox, spec: Program, named: list[str] = ()) -> None:
    """Skip, with the reason, what the host-loopback fallback cannot do safely.

    On the host there is no private network: a program that names another
    address (the seeds' 192.168.1.15) would send real traffic there, so it is
    not run at all; a server on a privileged port cannot bind.  ``named``:
    the addresses the program's source names (``off_loopback_addresses``).
    """
    if sandbox.isolated:
        return
    if named:
        pytest.skip(f"{spec.id} uses {', '.join(named)}: such addresses exist only inside a private network"
                    " namespace, which this machine cannot make; it is not run on the host network")
    if spec.role == "server" and spec.port < unprivileged_port_start():
        pytest.skip(f"{spec.id} listens on port {spec.port}, which needs privileges on the host; "
                    "it can only be graded in a private network namespace")


def _describe_listeners(run: ProgramRun, proto: str) -> str:
    others = run.listening_elsewhere()
    if not others:
        return Msg(N_("it listens on nothing"))
    return Msg(N_("it listens on {listeners}"),
            {"listeners": ", ".join(str(x) for x in others)})


class ProgramUnderTest:
    """The student's program for this check."""

    def __init__(self, spec: Program, located: Located, root: Path, sandbox: Sandbox, pack: Pack) -> None:
        self.spec = spec
        self.id = spec.id
        self.located = located
        self.root = root
        self.sandbox = sandbox
        self.pack = pack
        self.limits = pack.limits

    @property
    def port(self) -> int:
        return self.spec.port

    def start(self, stdin: str | list[str] | None = None, files: dict[str, bytes] | None = None,
              close_stdin: bool = False) -> ProgramRun:
        """Start the program with a private copy of the submission.

        ``stdin`` lines (a string is one line) are written at once; the
        pack's or the submission's stdin prelude goes first.
        """
        host_mode_guard(self.sandbox, self.spec, self.named_addresses)
        self._catch_all_if_needed()
        self._hostname_if_needed()
        # a client that uses a port of its own still reaches the peer; the
        # "port" check reports the port it used
        redirect = (self.spec.transport, self.port) if self.spec.role == "client" else None
        # an instructor's command (--run, the pack's run) may use tools installed anywhere: it sees the
        # machine's folders; a student's program, and a student's netgrade.toml command, are confined
        run = self.sandbox.start(self.located.command, label=self.id, files_from=self.root,
                                 files=files, cwd=self.located.cwd, redirect=redirect,
                                 host_view=self.located.origin in ("--run", "pack"))
        for line in self.located.stdin_prelude:
            run.writeline(line)
        if stdin is not None:
            for line in [stdin] if isinstance(stdin, str) else stdin:
                run.writeline(line)
        if close_stdin:
            run.close_stdin()
        return run

    @functools.cached_property
    def named_addresses(self) -> list[str]:
        """Addresses other than loopback that the program's source names, or that its
        stdin prelude types (a program that asks for the server's address), read once."""
        found = off_loopback_addresses(self.source)
        for addr in self.given_addresses:
            if addr not in found:
                found.append(addr)
        return found

    @property
    def given_addresses(self) -> tuple[str, ...]:
        """Addresses other than loopback typed by the stdin prelude ("the address given")."""
        return tuple(off_loopback_addresses("\n".join(self.located.stdin_prelude).encode()))

    def _catch_all_if_needed(self) -> None:
        """A program that names addresses other than loopback and the pack's lab
        addresses gets them redirected to the grader's peer (in its sandbox only)."""
        others = [a for a in self.named_addresses if a not in self.pack.lab_addresses]
        if not others or not self.sandbox.isolated:
            return
        try:
            self.sandbox.enable_catch_all(f"{self.located.file} names {', '.join(others)}")
        except SandboxError as exc:
            pytest.skip(f"{self.id} uses {', '.join(others)}, which cannot be redirected here: {exc}")

    def _hostname_if_needed(self) -> None:
        """A program that uses ``socket.gethostname()`` (the seeds do, and the sheet accepts it) gets
        the address the name resolves to on its sandbox's loopback, where the machine's own name
        does not resolve to loopback (a container's, a LAN's)."""
        addr = hostname_address()
        if addr is None or not self.sandbox.isolated or ipaddress.ip_address(addr).is_loopback:
            return
        if b"gethostname" in self.source:
            try:
                self.sandbox.make_local(addr)
            except (OSError, SandboxError) as exc:  # graded all the same; the checks say what it met
                self.sandbox.evidence.note(Msg(N_("{address} (the host name's address) could not be added: {error}"),
                                               {"address": addr, "error": str(exc)}))

    @functools.cached_property
    def source(self) -> bytes:
        """The program's source file (b"" when it is run by a command without one)."""
        path = self.root / self.located.file if self.located.file else None
        try:
            return path.read_bytes() if path is not None else b""
        except OSError:
            return b""

    def start_server(self, files: dict[str, bytes] | None = None, stdin: str | list[str] | None = None) -> ProgramRun:
        """Start a server and wait until it listens on the sheet's port, or fail saying why.

        A server that kept running without listening in an earlier check of
        this grading run gets a shorter wait here (it is still started and
        given its chance), so a hanging program costs seconds, not minutes.
        """
        run = self.start(stdin=stdin, files=files)
        proto = self.spec.transport
        hung_before = has_memo(self.sandbox.workbase, NOT_LISTENING, self.id)
        wait = min(self.limits.ready_s, HUNG_BEFORE_READY_S) if hung_before else self.limits.ready_s
        lst = run.wait_listening_any(proto, self.port, wait)
        # another holder of the sheet's port is the grader's fault, whatever the program did (it could not bind,
        # or shares the port with it): the check is the grader's error then, naming that holder
        self.sandbox.blame_strangers(proto, self.port)
        if lst is not None and lst.port != self.port:
            # graded where it listens; the port itself is the "port" check's business
            self.sandbox.evidence.note(Msg(N_("the server listens on {listener}, not on the sheet's port {port}:"
                                              " graded there"), {"listener": str(lst), "port": self.port}))
        if lst is not None and self.sandbox.isolated and lst.address not in ("0.0.0.0", "::") \
                and not lst.address.startswith("127.") and ":" not in lst.address:
            self.sandbox.make_local(lst.address)  # a server bound a LAN address: let the peer reach it
        if lst is None:
            message = not_listening_message(run, proto, self.port, wait)
            if run.running and not hung_before:
                leave_memo(self.sandbox.workbase, NOT_LISTENING, self.id, str(message))
            if hung_before:
                message += Msg(N_(" (it did not listen within {ready_s:g} s in an earlier check either)"),
                        {"ready_s": self.limits.ready_s})
            fail(message)
        run.listener = lst
        return run


def not_listening_message(run: ProgramRun, proto: str, port: int, waited: float) -> str:
    want = Msg(N_("expected the server to listen on {transport} port {port}"),
            {"transport": proto.upper(), "port": port})
    if not run.running:
        return Msg(N_("{want}; it ended first: {crash}"),
                {"want": want, "crash": run.crash_summary()})
    where = _describe_listeners(run, proto)
    return Msg(N_("{want} within {waited:g} s; {where} (still running)"),
            {"want": want, "waited": waited, "where": where})


class References:
    """Starts reference programs in the check's sandbox ("the real thing")."""

    def __init__(self, sandbox: Sandbox, pack: Pack) -> None:
        self.sandbox = sandbox
        self.pack = pack

    def start(self, program_id: str, stdin: str | list[str] | None = None,
              files: dict[str, bytes] | None = None, wait_ready: bool = True,
              args: list[str] | None = None) -> ProgramRun:
        """Start our reference ``program_id``; ``args`` are added to its command line."""
        spec = self.pack.programs[program_id]
        host_mode_guard(self.sandbox, spec)
        from .sandbox.python import cache_dir, program_python
        command = reffiles.command(spec, program_python(), reffiles.exported(cache_dir()))
        run = self.sandbox.start(command + list(args or []),
                                 label=f"reference {program_id}", files=files, trusted=True)
        if stdin is not None:
            for line in [stdin] if isinstance(stdin, str) else stdin:
                run.writeline(line)
        if wait_ready and spec.role == "server":
            port = int(args[args.index("--port") + 1]) if args and "--port" in args else spec.port
            lst = run.wait_listening(spec.transport, port, 10.0)
            if lst is None:
                self.sandbox.blame_strangers(spec.transport, port)  # names the holder of its port, if any
                raise RuntimeError(f"reference {program_id} did not start: {run.crash_summary()}")
            run.listener = lst
        return run
