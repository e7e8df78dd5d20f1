"""The program under test and its reference counterparts, inside a check's sandbox."""
from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import re
from pathlib import Path

import pytest

from netgrade import reference

from .checks import fail
from .pack import Pack, Program
from .runner import memo_path
from .sandbox import ProgramRun, Sandbox, SandboxError
from .sandbox.netns import hostname_address
from .submission import Located


HUNG_BEFORE_READY_S = 0.5


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


def sheet_address(address: str, pack: Pack, given: tuple[str, ...] = ()) -> bool:
    """True for an address the sheet accepts: loopback, all interfaces (for a bind),
    a lab address the pack declares, the host name's address, or one ``given``
    on the program's input (its stdin prelude)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_loopback or ip.is_unspecified:
        return True
    return address in pack.lab_addresses or address == hostname_address() or address in given


def sheet_addresses_text(pack: Pack, given: tuple[str, ...] = ()) -> str:
    """The addresses ``sheet_address`` accepts, in words, for messages."""
    others = [a for a in (*pack.lab_addresses, *given) if a != "127.0.0.1"]
    return "127.0.0.1" + (f" (or {', '.join(dict.fromkeys(others))})" if others else " (or the address given)")


def original_destination(sandbox: Sandbox, proto: str, source: tuple[str, int]) -> tuple[str, int] | None:
    """Where the program's ``proto`` flow from ``source`` was addressed, before any redirect.

    The catch-all and the port redirects rewrite destinations with NAT, so
    the grader's peer sees its own address; the namespace's connection
    tracking table still holds the original one.  None when the sandbox
    keeps no such table (no NAT in use, or the host fallback) or has no
    entry for the flow; then nothing was rewritten.
    """
    if not sandbox.isolated:
        return None
    try:
        with sandbox.net.entered(), open("/proc/thread-self/net/nf_conntrack") as f:
            lines = f.read().splitlines()
    except (OSError, AttributeError):
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or fields[2] != proto:
            continue
        orig: dict[str, str] = {}
        for field in fields:
            key, _, value = field.partition("=")
            if key in ("src", "dst", "sport", "dport") and key not in orig:
                orig[key] = value  # the first tuple of a line is the original direction
        if orig.get("src") == source[0] and orig.get("sport") == str(source[1]) and "dport" in orig:
            return orig["dst"], int(orig["dport"])
    return None


# A prompt that asks for the server's address or port (English or Chinese).
ASKS_FOR_ADDRESS = re.compile(r"(?<![a-z])(ip|port|address|addr|host|server)(?![a-z])|地址|端口|服务器|主机",
                              re.IGNORECASE)


def _toml_hint(program_id: str) -> str:
    return (f"If your class was told to type something first (the server's address or port), declare those"
            f" lines in netgrade.toml: [programs.{program_id}] stdin_prelude = [\"127.0.0.1\", \"8080\"]")


def unexpected_input_hint(program_id: str, proc: dict, contact: bool = True, waiting_prompt: bool = True) -> str:
    """A sentence (starting with ". ") when the program asked for input the sheet never mentions; else "".

    ``proc`` is a run's report (``ProgramRun.report``: stdout, stdin,
    stderr, exit, waiting_for_input); ``contact``: whether it reached the
    grader's peer at all.  Three cases: it waits on its input although the
    check gave it none (the sheet's program reads nothing); it waits after a
    prompt for an address or port (``waiting_prompt``: the plugin adds that
    one to every failing check); it took the check's first line for an
    address or port and failed (no contact, a traceback).
    """
    stdout, given = proc.get("stdout", ""), proc.get("stdin", "")
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    last = lines[-1][-80:] if lines else ""
    if proc.get("waiting_for_input"):
        if not given:
            shown = f"after printing {last!r}" if last else "without printing anything"
            advice = _toml_hint(program_id) if ASKS_FOR_ADDRESS.search(last) else \
                "The sheet's program does its work without anyone typing."
            return (f". It is waiting for input {shown}, but the sheet's {program_id} reads nothing from its"
                    f" input, so the check gave it none: it asks for input the sheet never mentions. " + advice)
        if waiting_prompt and last and ASKS_FOR_ADDRESS.search(last):
            return (f". The program is waiting for input after printing {last!r}: the sheet's program asks"
                    " for nothing more. " + _toml_hint(program_id))
        return ""
    tb = proc.get("stderr", "")
    ended_badly = "Traceback (most recent call last)" in tb and "still running" not in proc.get("exit", "")
    if ended_badly and "sys.argv[" in tb and "IndexError" in tb:
        return (". It reads its input from the command line (sys.argv) and stopped with IndexError: the sheet's"
                " program reads it from its input (input()). To grade it as written, give it its arguments in"
                f" netgrade.toml: [programs.{program_id}] run = \"{{python}} {{file}} ARGUMENTS\"")
    asked = next((ln for ln in lines if ASKS_FOR_ADDRESS.search(ln)), "")
    if ended_badly and not contact and asked and given:
        first = given.split("\n")[0]
        error = tb.strip().splitlines()[-1][:120]
        return (f". It asked {asked[:80]!r} first and took the check's input {first!r} as the answer, then"
                f" failed ({error}): the sheet's program asks for no address or port. " + _toml_hint(program_id))
    return ""


def run_input_hint(run: ProgramRun, contact: bool = True) -> str:
    """``unexpected_input_hint`` for a live run (its label is the program's id), in a check's message.

    Leaves out the wait after an address prompt, which the plugin appends to
    every failing check from the run's record.
    """
    proc = {"stdout": run.out, "stdin": "".join(run.stdin_log), "stderr": run.err,
            "exit": run.describe_exit(), "waiting_for_input": run.waiting_for_input()}
    return unexpected_input_hint(run.label, proc, contact, waiting_prompt=False)


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
                self.sandbox.evidence.note(f"{addr} (the host name's address) could not be added: {exc}")

    @functools.cached_property
    def source(self) -> bytes:
        """The program's source file (b"" when it is run by a command without one)."""
        path = self.root / self.located.file if self.located.file else None
        try:
            return path.read_bytes() if path is not None else b""
        except OSError:
            return b""

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
