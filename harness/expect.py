"""Expectations shared by suites, with messages that say expected vs seen."""
from __future__ import annotations

from .failure import fail
from .i18n import N_, Msg
from .sandbox import Listener, ProgramRun
from .text import short


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
    ended = "" if run.running else Msg(N_("; it ended: {crash}"),
            {"crash": run.crash_summary()})
    fail(N_("expected the output to contain {text} ({what}); output was: {seen}{ended}"),
         text=repr(text), what=what, seen=seen, ended=ended)


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
