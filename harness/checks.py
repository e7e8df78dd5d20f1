"""The vocabulary of suite files: ``@check`` and ``fail``.

A check is a pytest test function decorated with ``@check(program, level,
title, id=...)``.  The id is what a pack (``[checks."PROGRAM/ID"]``), a
translation and ``netgrade.result/1`` name, so renaming the function changes
none of them; two checks of a program cannot share one.  Every check of
``suites/`` gives its id (a test sees to it); an instructor's own suite
(``--suites``) may leave it out, and the id is then the function's name
without ``test_``, the program's prefix and underscores (``check_id``).  The level is the sheet's (must / should / extra).  A check fails by
raising :class:`CheckFailure` (``fail(...)`` or a plain ``assert``): its
message says what was expected and what was seen.  Any other exception is a
grader error, reported as such, never as the student's fault.

A check made once per program of a role (the port and address checks) is
declared with ``@per_program(...)``: its programs, titles and hints are
made from the pack the run merged (``--pack``), when the suite is collected,
never from the default pack at import time.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

import pytest

# The vocabulary a suite is written in, from one module (suites import nothing else of netgrade): the
# program under test and its peers, shared expectations, the codecs and the words of messages.
from .dialogue import Dialogue  # noqa: E402
from .expect import (  # noqa: E402
    at,
    busy_loop_share,
    encoding_note,
    ended_note,
    exits_zero,
    naming_encoding_faults,
    no_crash,
    prints,
    prints_text,
    target_of,
)
from .failure import CheckFailure, fail
from .i18n import N_, Msg
from .pack import Pack, Program
from .peers.shaped import ShapedPeer, plural  # noqa: E402
from .peers.tcp import PeerError, TcpConn, TcpListener, TcpPeer, tcp_states  # noqa: E402
from .peers.tftp import Faults, Received, TftpPeer, Transfer, recv_any  # noqa: E402
from .peers.udp import UdpPeer, fmt_addr  # noqa: E402
from .programs import original_destination, run_input_hint, sheet_address, sheet_addresses_text  # noqa: E402
from .protocols import framing, tftp, tftp_transfer  # noqa: E402
from .protocols.framing import FrameDecoder, FrameTooLarge  # noqa: E402
from .sandbox import ProgramRun  # noqa: E402
from .savedfiles import Baseline, Found, read_capped, scan  # noqa: E402
from .text import describe_encoding_mismatch, describe_misdecoded_output, short, show_bytes
from .verdicts import Level

__all__ = [
    # declaring and failing checks
    "CheckFailure", "CheckInfo", "Level", "PerProgram", "check", "check_mark", "fail", "naming_encoding_faults",
    "per_program",
    # messages: an English template marked for translation (N_) and its parameters
    "Msg", "N_",
    # the programs
    "ProgramRun", "original_destination", "run_input_hint", "sheet_address", "sheet_addresses_text",
    # expectations and dialogues
    "Dialogue", "at", "busy_loop_share", "encoding_note", "ended_note", "exits_zero", "no_crash", "prints", "prints_text", "target_of",
    # the grader's peers
    "Faults", "PeerError", "Received", "ShapedPeer", "TcpConn", "TcpListener", "TcpPeer", "TftpPeer", "Transfer",
    "UdpPeer", "fmt_addr", "plural", "recv_any", "tcp_states",
    # the codecs
    "FrameDecoder", "FrameTooLarge", "framing", "tftp", "tftp_transfer",
    # files a program saved
    "Baseline", "Found", "read_capped", "scan",
    # the words of messages
    "describe_encoding_mismatch", "describe_misdecoded_output", "short", "show_bytes",
]


def sheet_level(level: str) -> Level:
    """``level`` (a suite writes the sheet's word, ``"must"``) as a Level; ValueError if it is not one."""
    try:
        return Level(level)
    except ValueError:
        raise ValueError(f"level must be one of {', '.join(Level)}, not {level!r}") from None


def check_id(func_name: str, program: str) -> str:
    name = func_name.removeprefix("test_")
    prefix = program.replace("-", "_") + "_"
    name = name.removeprefix(prefix)
    return name.replace("_", "-")


def check(program: str, level: str, title: str, *, id: str | None = None, sheet: str | None = None,
          hint: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test function as a check of ``program`` at ``level``.

    ``id`` names the check within its program (``"one-datagram"``; see the
    module's docstring); ``title`` is the sheet's line in a few words; ``sheet`` points into the
    notes (``"001 §3.1.3"``); ``hint`` is what a student should look at when
    the check fails.  A level that is not the sheet's raises ValueError
    (in ``check_mark``) when the suite is imported.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        cid = id or check_id(func.__name__, program)
        _register(program, cid, func)
        return check_mark(program, level, title, cid, sheet=sheet, hint=hint)(func)

    return decorate


#: (program, id) -> the function that checks it (its file and name), for the one-id-one-check rule
_CHECKS: dict[tuple[str, str], str] = {}


def _register(program: str, cid: str, func: Callable[..., Any]) -> None:
    """Refuse a second check of ``program`` with the id ``cid``: a pack could not say which one it means."""
    where = f"{func.__code__.co_filename}::{func.__qualname__}"
    first = _CHECKS.setdefault((program, cid), where)
    if first != where:  # the same function imported again is the same check
        raise ValueError(f"two checks of a program share an id: {program}/{cid} "
                         f"({first.rpartition('/')[2]} and {where.rpartition('/')[2]})")


#: the name of the mark a check's test carries (``@pytest.mark.netgrade``)
MARK = "netgrade"


@dataclass(frozen=True)
class CheckInfo:
    """What a check declares: its program, id, the suite's level, title, sheet section and hint.

    It is the ``netgrade`` mark on the check's test (``mark()`` makes it,
    ``of(item)`` reads it back); the level a run grades at is the pack's
    (``Pack.level_for``), which may differ from the suite's.
    """

    program: str
    level: Level
    #: a fixed English text (its own msgid) or a Msg made with parameters (a port of the pack)
    title: str | Msg
    id: str
    sheet: str = ""
    hint: str | Msg = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", sheet_level(self.level))
        for name in ("title", "hint"):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, Msg.from_json(value))

    @property
    def key(self) -> str:
        """``program/id``: how a pack, a translation and the result name the check."""
        return f"{self.program}/{self.id}"

    def mark(self) -> pytest.MarkDecorator:
        return getattr(pytest.mark, MARK)(**{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def of(cls, item: pytest.Item) -> CheckInfo | None:
        """The check ``item`` is, or None for a test that is no check; ValueError for a malformed mark."""
        mark = item.get_closest_marker(MARK)
        if mark is None:
            return None
        try:
            return cls(**mark.kwargs)
        except TypeError as exc:
            raise ValueError(f"{item.nodeid}: a check's mark is netgrade(program, level, title, id, sheet, hint)"
                             f" ({exc})") from None


def check_mark(program: str, level: str, title: str | Msg, id: str, *, sheet: str | None = None,
               hint: str | Msg | None = None) -> pytest.MarkDecorator:
    """The mark behind ``@check``: for checks made per program with ``pytest.param(..., marks=...)``."""
    return CheckInfo(program, sheet_level(level), title, id, sheet or "", hint or "").mark()


@dataclass(frozen=True)
class PerProgram:
    """A check of every program of one role; see :func:`per_program`."""

    argname: str
    role: str
    level: Level
    id: str
    title: Callable[[Program], str | Msg]
    hint: Callable[[Program], str | Msg]

    def params(self, pack: Pack) -> list[Any]:
        """One ``pytest.param`` per program of ``pack`` with the role, marked as that program's check."""
        return [pytest.param(p.id, id=p.id, marks=check_mark(p.id, self.level, self.title(p), self.id,
                                                             sheet=p.sheet, hint=self.hint(p)))
                for p in pack.programs.values() if p.role == self.role]


#: the attribute ``per_program`` sets on a test function (read by the plugin's pytest_generate_tests)
PER_PROGRAM_ATTR = "_netgrade_per_program"


def per_program(argname: str, role: str, level: str, title: Callable[[Program], str], *, id: str,
                hint: Callable[[Program], str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test function as one check per program whose role is ``role`` ("server" or "client").

    The function takes the program's id as ``argname``; ``title(program)`` and
    ``hint(program)`` are made from the run's pack, so a pack that moves a
    program to another port is titled, hinted and graded on that port.
    """
    level = sheet_level(level)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, PER_PROGRAM_ATTR, PerProgram(argname, role, level, id, title, hint))
        return func

    return decorate
