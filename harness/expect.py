"""Expectations shared by suites, with messages that say expected vs seen."""
from __future__ import annotations

import contextlib
import time

from .failure import CheckFailure, fail
from .i18n import N_, Msg, message
from .sandbox import Listener, ProgramRun
from .text import describe_encoding_mismatch, describe_misdecoded_output, short


def ended_note(run: ProgramRun, who: str | Msg = N_("the program")) -> Msg:
    """"; ``who`` ended: exited with status 1; ..." when the program has ended, else an empty message: the
    tail of a message that says what was missing.  ``who`` is a marked word (``N_("the server")``)."""
    if run.running:
        return Msg("")
    return Msg(N_("; {who} ended: {crash}"), {"who": message(who), "crash": run.crash_summary()})


#: windows in a row in which a program wanted a CPU, and CPU time it used meanwhile, that make it a busy loop
#: rather than a program starting up: a start-up on a loaded machine also wants a CPU all along, but gets
#: and uses little of it before it ends or sleeps (Python's start-up here: 0.15-0.2 CPU-s)
SPIN_WINDOWS = 3
SPIN_CPU_S = 0.5


def busy_loop_share(run: ProgramRun, window: float, busy: float, within_s: float) -> float:
    """The program's CPU share if it is a busy loop, else its share in the first ``window`` in which it was
    not ``busy`` (0.0 once it ended).

    A busy loop wants a CPU (share above ``busy``) in each of at least ``SPIN_WINDOWS`` windows in a row
    and uses ``SPIN_CPU_S`` of CPU time meanwhile.  After ``within_s`` seconds busy, a program is called a
    busy loop whatever CPU it got."""
    used_before = run.cpu_seconds()
    until = time.monotonic() + within_s
    windows = 0
    while True:
        share = run.cpu_share(window)
        windows += 1
        if not run.running or share <= busy:
            return share
        if windows >= SPIN_WINDOWS and (run.cpu_seconds() - used_before >= SPIN_CPU_S
                                        or time.monotonic() >= until):
            return share


def exits_zero(run: ProgramRun, timeout: float, after: str) -> None:
    """The program ends on its own with status 0 within ``timeout`` seconds."""
    code = run.wait_exit(timeout)
    if code is None:
        share = run.cpu_share(0.25)
        how = Msg(N_("spinning at {share:.0%} CPU (a busy loop)"),
                {"share": share}) if share > 0.5 else Msg(N_("idle, blocked on something"))
        fail(N_("expected the program to exit with status 0 {after}; it was still running {timeout:g} s later, {how}"),
             after=after, timeout=timeout, how=how)
    if code != 0:
        fail(N_("expected exit status 0 {after}; {crash}"),
             after=after, crash=run.crash_summary())
    if "Traceback (most recent call last)" in run.err:
        fail(N_("exited 0 {after} but printed a traceback: {crash}"),
             after=after, crash=run.crash_summary())


def prints(run: ProgramRun, text: str, timeout: float, what: str) -> None:
    """``text`` appears in the program's output within ``timeout`` seconds."""
    if run.wait_output(text, timeout):
        return
    seen = short(run.out.strip(), 300) or Msg(N_("(nothing)"))
    fail(N_("expected the output to contain {text} ({what}); output was: {seen}{ended}"),
         text=repr(text), what=what, seen=seen, ended=ended_note(run, N_("it")))


@contextlib.contextmanager
def naming_encoding_faults(expected: str | list[str], *, wire=None, output=None):
    """Inside the block, a check failure gets the encoding fault named, when one explains it.

    ``expected``: the text(s) the check looked for; ``wire``: a callable giving
    the bytes the program sent; ``output``: a callable giving its output.  Both
    are read only after a failure.  For failures raised by shared helpers
    (``prints``, ``Dialogue``) that compare text without knowing why it differs.
    """
    try:
        yield
    except CheckFailure as exc:
        text_of_failure = str(exc)
        for text in [expected] if isinstance(expected, str) else expected:
            hint = None
            if wire is not None:
                hint = describe_encoding_mismatch(text, wire())
            if hint is None and output is not None:
                hint = describe_misdecoded_output(text, output())
            if hint and str(hint) not in text_of_failure:
                raise CheckFailure(N_("{message}: {hint}"), message=exc.message, hint=hint) from None
        raise


def prints_text(run: ProgramRun, text: str, timeout: float, what: str | Msg) -> None:
    """``prints``, naming the decoding fault when the text came out garbled."""
    with naming_encoding_faults(text, output=lambda: run.out):
        prints(run, text, timeout, what)


def encoding_note(expected: bytes | str, seen: bytes) -> Msg:
    """": sent GBK bytes (...) for '...'; ..." when an encoding explains how ``seen`` differs from
    ``expected``, else an empty message."""
    text = expected if isinstance(expected, str) else expected.decode("utf-8", "replace")
    why = describe_encoding_mismatch(text, seen)
    return Msg(N_(": {why}"), {"why": why}) if why else Msg("")


def no_crash(run: ProgramRun, what: str) -> None:
    if not run.running and run.returncode not in (0, None):
        fail(N_("the program crashed {what}: {crash}"),
             what=what, crash=run.crash_summary())
    if "Traceback (most recent call last)" in run.err:
        fail(N_("the program printed a traceback {what}: {crash}"),
             what=what, crash=run.crash_summary())


def target_of(listener: Listener) -> tuple[str, int]:
    """Where to reach a server from inside the sandbox, given what it bound."""
    if listener.address in ("0.0.0.0", "::"):
        return ("127.0.0.1", listener.port)
    return (listener.address, listener.port)


def at(server: ProgramRun) -> list[str]:
    """Options that point one of our reference clients at ``server`` where it really listens (the port
    check judges the port; the other checks, interop included, grade the server where it is)."""
    return ["--port", str(server.listener.port)] if server.listener is not None else []
