"""The program under test and its reference counterparts, inside a check's sandbox."""
from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import re
from pathlib import Path

import pytest

import reference

from .checks import fail
from .pack import Pack, Program
from .runner import memo_path
from .sandbox import ProgramRun, Sandbox, SandboxError
from .submission import Located


HUNG_BEFORE_READY_S = 1.0


def _unprivileged_port_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1024


_IPV4 = re.compile(rb"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])")


def off_loopback_addresses(source: bytes) -> list[str]:
    """IPv4 literals in a program's source that are not loopback or 0.0.0.0."""
    found = []
    for m in _IPV4.finditer(source):
        try:
            addr = ipaddress.IPv4Address(m.group(1).decode())
        except ValueError:
            continue
        if not (addr.is_loopback or addr.is_unspecified) and str(addr) not in found:
            found.append(str(addr))
    return found


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
    if spec.role == "server" and spec.port < _unprivileged_port_start():
        pytest.skip(f"{spec.id} listens on port {spec.port}, which needs privileges on the host; "
                    "it can only be graded in a private network namespace")


def _describe_listeners(run: ProgramRun, proto: str) -> str:
    others = run.listening_elsewhere()
    if not others:
        return "it listens on nothing"
    return "it listens on " + ", ".join(str(x) for x in others)


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
        # a client that uses a port of its own still reaches the peer; the
        # "port" check reports the port it used
        redirect = (self.spec.transport, self.port) if self.spec.role == "client" else None
        run = self.sandbox.start(self.located.command, label=self.id, files_from=self.root,
                                 files=files, cwd=self.located.cwd, redirect=redirect)
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
        """Addresses other than loopback that the program's source names (read once)."""
        source = self.root / self.located.file if self.located.file else None
        if source is None or not source.is_file():
            return []
        return off_loopback_addresses(source.read_bytes())

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

    def _memo(self) -> str:
        return memo_path(self.sandbox.workbase, "not-listening", self.id)

    def start_server(self, files: dict[str, bytes] | None = None, stdin: str | list[str] | None = None) -> ProgramRun:
        """Start a server and wait until it listens on the sheet's port, or fail saying why.

        A server that kept running without listening in an earlier check of
        this grading run gets a shorter wait here (it is still started and
        given its chance), so a hanging program costs seconds, not minutes.
        """
        run = self.start(stdin=stdin, files=files)
        proto = self.spec.transport
        hung_before = os.path.exists(self._memo())
        wait = min(self.limits.ready_s, HUNG_BEFORE_READY_S) if hung_before else self.limits.ready_s
        lst = run.wait_listening_any(proto, self.port, wait)
        if lst is not None and lst.port != self.port:
            # graded where it listens; the port itself is the "port" check's business
            self.sandbox.evidence.note(f"the server listens on {lst}, not on the sheet's port {self.port}:"
                                       " graded there")
        if lst is not None and self.sandbox.isolated and lst.address not in ("0.0.0.0", "::") \
                and not lst.address.startswith("127.") and ":" not in lst.address:
            self.sandbox.make_local(lst.address)  # a server bound a LAN address: let the peer reach it
        if lst is None:
            message = not_listening_message(run, proto, self.port, wait)
            if run.running and not hung_before:
                with contextlib.suppress(OSError):
                    with open(self._memo(), "w") as f:
                        f.write(message)
            if hung_before:
                message += f" (it did not listen within {self.limits.ready_s:g} s in an earlier check either)"
            fail(message)
        run.listener = lst
        return run


def not_listening_message(run: ProgramRun, proto: str, port: int, waited: float) -> str:
    want = f"expected the server to listen on {proto.upper()} port {port}"
    if not run.running:
        return f"{want}; it ended first: {run.crash_summary()}"
    where = _describe_listeners(run, proto)
    return f"{want} within {waited:g} s; {where} (still running)"


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
        from .sandbox.python import program_python
        run = self.sandbox.start(reference.command(spec, program_python()) + list(args or []),
                                 label=f"reference {program_id}", files=files, trusted=True)
        if stdin is not None:
            for line in [stdin] if isinstance(stdin, str) else stdin:
                run.writeline(line)
        if wait_ready and spec.role == "server":
            port = int(args[args.index("--port") + 1]) if args and "--port" in args else spec.port
            lst = run.wait_listening(spec.transport, port, 10.0)
            if lst is None:
                raise RuntimeError(f"reference {program_id} did not start: {run.crash_summary()}")
            run.listener = lst
        return run
