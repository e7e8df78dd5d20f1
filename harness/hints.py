"""Hints for a check's message when a program asks for input the sheet never mentions (a prompt for
the server's address or port, its arguments read from sys.argv), with what to declare in
netgrade.toml to grade it as written.
"""
from __future__ import annotations

import re

from .i18n import N_, Msg
from .sandbox import ProgramRun

# A prompt that asks for the server's address or port (English or Chinese).
ASKS_FOR_ADDRESS = re.compile(r"(?<![a-z])(ip|port|address|addr|host|server)(?![a-z])|地址|端口|服务器|主机",
                              re.IGNORECASE)


def _toml_hint(program_id: str) -> Msg:
    return Msg(N_("If your class was told to type something first (the server's address or port), declare those"
                  " lines in netgrade.toml: [programs.{program}] stdin_prelude = [\"127.0.0.1\", \"8080\"]"),
               {"program": program_id})


def unexpected_input_hint(program_id: str, proc: dict, contact: bool = True, waiting_prompt: bool = True) -> Msg:
    """A sentence (starting with ". ") when the program asked for input the sheet never mentions; else an
    empty message.

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
            advice = _toml_hint(program_id) if ASKS_FOR_ADDRESS.search(last) else \
                Msg(N_("The sheet's program does its work without anyone typing."))
            if last:
                return Msg(N_(". It is waiting for input after printing {last}, but the sheet's {program} reads"
                              " nothing from its input, so the check gave it none: it asks for input the sheet never"
                              " mentions. {advice}"), {"last": repr(last), "program": program_id, "advice": advice})
            return Msg(N_(". It is waiting for input without printing anything, but the sheet's {program} reads"
                          " nothing from its input, so the check gave it none: it asks for input the sheet never"
                          " mentions. {advice}"), {"program": program_id, "advice": advice})
        if waiting_prompt and last and ASKS_FOR_ADDRESS.search(last):
            return Msg(N_(". The program is waiting for input after printing {last}: the sheet's program asks"
                          " for nothing more. {advice}"), {"last": repr(last), "advice": _toml_hint(program_id)})
        return Msg("")
    tb = proc.get("stderr", "")
    ended_badly = "Traceback (most recent call last)" in tb and "still running" not in proc.get("exit", "")
    if ended_badly and "sys.argv[" in tb and "IndexError" in tb:
        return Msg(N_(". It reads its input from the command line (sys.argv) and stopped with IndexError: the"
                      " sheet's program reads it from its input (input()). To grade it as written, give it its"
                      " arguments in netgrade.toml: [programs.{program}] run = \"{{python}} {{file}} ARGUMENTS\""),
                   {"program": program_id})
    asked = next((ln for ln in lines if ASKS_FOR_ADDRESS.search(ln)), "")
    if ended_badly and not contact and asked and given:
        first = given.split("\n")[0]
        error = tb.strip().splitlines()[-1][:120]
        return Msg(N_(". It asked {asked} first and took the check's input {first} as the answer, then failed"
                      " ({error}): the sheet's program asks for no address or port. {advice}"),
                   {"asked": repr(asked[:80]), "first": repr(first), "error": error,
                    "advice": _toml_hint(program_id)})
    return Msg("")


def run_input_hint(run: ProgramRun, contact: bool = True) -> Msg:
    """``unexpected_input_hint`` for a live run (its label is the program's id), in a check's message.

    Leaves out the wait after an address prompt, which the plugin appends to
    every failing check from the run's record.
    """
    proc = {"stdout": run.out, "stdin": "".join(run.stdin_log), "stderr": run.err,
            "exit": run.describe_exit(), "waiting_for_input": run.waiting_for_input()}
    return unexpected_input_hint(run.label, proc, contact, waiting_prompt=False)
