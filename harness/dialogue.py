"""Drive a turn-taking conversation between a program and a TCP peer.

Chat-like programs (tcp-chat-*, tcp-qq-*) alternate: one side says something,
the other answers.  A :class:`Dialogue` plays the grader's side over a
:class:`~netgrade.peers.tcp.TcpConn` and the operator's side over the
program's stdin, one step at a time, each step with its own deadline:

- ``peer_says(text, printed=...)``: the peer sends ``text``; the step ends when
  the program prints ``printed`` (default: ``text``);
- ``program_says(line, wire=...)``: the operator types ``line``; the step ends
  when the peer has received exactly ``wire`` (default: the line's UTF-8 bytes),
  compared byte for byte;
- ``peer_replies(text, printed=...)`` is ``peer_says`` named for the client case.

Each step is logged (who said what, when) in ``transcript`` and in the
evidence as ``dialogue`` events; a step that does not complete fails the check
with what was expected and what was seen.
"""
from __future__ import annotations

import time

from .failure import fail
from .i18n import N_, Msg
from .peers.tcp import TcpConn
from .sandbox import ProgramRun
from .text import short, show_bytes


class Dialogue:
    def __init__(self, run: ProgramRun, conn: TcpConn, step: float, program: str = "the program") -> None:
        self.run = run
        self.conn = conn
        self.step = step
        self.program = program
        self.transcript: list[tuple[float, str, str]] = []

    def _log(self, who: str, text: str) -> None:
        t = round(time.monotonic() - self.run.started, 4)
        self.transcript.append((t, who, text))
        self.conn.evidence.add("dialogue", who=who, text=text)

    def _ended(self) -> str:
        if not self.run.running:
            return Msg(N_("; {program} ended: {crash}"),
                    {"program": self.program, "crash": self.run.crash_summary()})
        if self.conn.ended:
            return Msg(N_("; the connection was closed by {program} ({how})"),
                    {"program": self.program, "how": self.conn.ended.upper()})
        return ""

    def peer_says(self, text: str, printed: str | None = None, *, what: str = "the message it received") -> None:
        """The peer sends ``text``; wait until the program prints ``printed``."""
        want = text if printed is None else printed
        count = self.run.out.count(want) + 1  # the same text may have been printed before
        self._log("peer", text)
        if not self.conn.send(text.encode("utf-8")):
            fail(N_("could not send {text} to {program}{ended}"),
                 text=repr(text), program=self.program, ended=self._ended())
        if not self.run.wait_output(want, self.step, count=count):
            seen = short(self.run.out.strip()[-300:], 300) or "(nothing)"
            fail(N_("expected {program} to print {want} ({what}) within {step:g} s; output ends with: {seen}{ended}"),
                 program=self.program, want=repr(want), what=what, step=self.step, seen=seen, ended=self._ended())

    peer_replies = peer_says

    def program_says(self, line: str, wire: bytes | None = None, *, typed: bool = True) -> bytes:
        """The operator types ``line``; the peer must receive exactly ``wire`` (default: the line)."""
        want = line.encode("utf-8") if wire is None else wire
        if typed:
            self._log("stdin", line)
            if not self.run.writeline(line, self.step):
                fail(N_("{program} did not read the line {line} from its input{ended}"),
                     program=self.program, line=repr(line), ended=self._ended())
        got = self.conn.recv_until(lambda buf: len(buf) >= len(want), self.step)
        if got is None:
            have = bytes(self.conn.pending)
            self.conn.pending.clear()
            if have:
                fail(N_("expected {bytes} on the connection after the line {line}; got only {bytes2} within {step:g} "
                        "s{ended}"),
                     bytes=show_bytes(want), line=repr(line), bytes2=show_bytes(have), step=self.step,
                     ended=self._ended())
            fail(N_("expected {bytes} on the connection after the line {line}; nothing arrived within {step:g} "
                    "s{ended}"),
                 bytes=show_bytes(want), line=repr(line), step=self.step, ended=self._ended())
        self._log("program", got.decode("utf-8", errors="replace"))
        if got != want:
            extra = Msg(N_(" (a newline was sent too)")) if got.rstrip(b"\r\n") == want else ""
            fail(N_("bytes on the wire for the line {line}: expected {bytes}, got {bytes2}{extra}"),
                 line=repr(line), bytes=show_bytes(want), bytes2=show_bytes(got), extra=extra)
        return got
