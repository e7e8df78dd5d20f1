"""The evidence of one check: a timestamped record of the exchange.

Peers log every datagram, segment and connection event; program runs log
their stdin, output and exit.  The record is plain data (it travels from
pytest workers to the grader as JSON) and is bounded in size whatever a
program does: at most MAX_EVENTS events and PREVIEW bytes of each payload.

Every event has a ``kind`` from :class:`Kind`, the one registry of evidence
kinds: a peer cannot record a kind that is not listed there, and every
renderer of evidence (the HTML sequence diagram, ``outputs/html.DRAWERS``)
has an entry for each (``tests/test_outputs.py`` fails when one is missing).

A field of an event given as a :class:`~netgrade.i18n.Msg` (a note, the
text of a timeout, an exit's reason) is kept as its English text under its
name, as before, with ``<name>_id`` and ``<name>_params`` beside it (as a
result keeps its messages): a report renders it in its own language
(:func:`event_text`), also from a result file graded in another one.  What
the program sent or printed is a parameter, never translated.
"""
from __future__ import annotations

import enum
import time
from typing import Any

from .i18n import Msg, literal, params_json
from .text import decode, hexdump, printable

MAX_EVENTS = 400
PREVIEW = 512


class Kind(enum.StrEnum):
    """What an evidence event records; the value is the ``kind`` string of ``netgrade.result/1``."""

    # payloads (``Evidence.packet``): direction as seen from the grader's peer
    SENT = "sent"                  # the peer sent a datagram or segment
    RECEIVED = "received"          # the peer received one
    DROPPED = "dropped"            # a fault-injecting peer withheld a packet on purpose
    ICMP = "icmp"                  # ICMP port unreachable came back (nothing listened)
    # TCP connections (peers/tcp.py)
    LISTEN = "listen"              # the peer listens
    CONNECT = "connect"            # the peer connected (or was refused / got no answer)
    ACCEPT = "accept"              # the peer accepted the program's connection
    FIN = "fin"                    # the program closed in order (FIN)
    RST = "rst"                    # the connection was reset by the program's side (RST)
    SHUTDOWN = "shutdown"          # the peer half-closed (FIN, still reading)
    CLOSE = "close"                # the peer closed (FIN)
    ABORT = "abort"                # the peer reset (RST)
    TIMEOUT = "timeout"            # the peer waited in vain
    # program runs (sandbox/process.py) and dialogues
    START = "start"
    EXIT = "exit"
    STDIN = "stdin"
    STDIN_CLOSED = "stdin-closed"
    STDOUT = "stdout"
    STDERR = "stderr"
    DIALOGUE = "dialogue"          # a turn of a scripted dialogue (dialogue.py)
    NOTE = "note"                  # a remark of the check


#: kinds that carry a payload (the packet table)
PACKET_KINDS = frozenset({Kind.SENT, Kind.RECEIVED, Kind.DROPPED})
#: kinds that show a client reached the grader's peer
CONTACT_KINDS = frozenset({Kind.RECEIVED, Kind.ACCEPT})


def payload_fields(data: bytes) -> dict[str, Any]:
    return {
        "len": len(data),
        "text": printable(decode(data[:PREVIEW]), keep_newlines=False),
        "hex": hexdump(data, 48),
        "truncated": len(data) > PREVIEW,
    }


class Evidence:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.dropped = 0
        self.processes: list[dict[str, Any]] = []
        self.facts: dict[str, Any] = {}

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 4)

    def add(self, kind: Kind | str, **fields: Any) -> None:
        """Record one event; a ``kind`` that is not a :class:`Kind` raises ValueError."""
        kind = Kind(kind).value  # plain str in the record: the JSON is unchanged
        if len(self.events) >= MAX_EVENTS:
            self.dropped += 1
            return
        self.events.append({"t": self.now(), "kind": kind, **msg_fields(fields)})

    def packet(self, direction: str, proto: str, src: str, dst: str, data: bytes, **extra: Any) -> None:
        """direction: 'sent' (by the peer) or 'received' (by the peer)."""
        self.add(Kind(direction), proto=proto, src=src, dst=dst, **payload_fields(data), **extra)

    def note(self, text: Msg | str) -> None:
        self.add(Kind.NOTE, text=text)

    def has_note(self, text: Msg | str) -> bool:
        """A note with this (English) text was recorded already."""
        return any(e.get("text") == str(text) for e in self.events if e["kind"] == Kind.NOTE)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"events": self.events, "processes": self.processes}
        if self.dropped:
            out["events_dropped"] = self.dropped
        if self.facts:
            out["facts"] = self.facts
        return out


def msg_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` as an event keeps them: each message as its English text, its ``_id`` and ``_params``."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, Msg):
            out[name] = str(value)
            out[f"{name}_id"] = value.id
            out[f"{name}_params"] = params_json(value.params)
        else:
            out[name] = value
    return out


def _recorded(event: dict[str, Any], name: str) -> Msg | None:
    """The field ``name`` of an event as the message it was recorded as (None: recorded as plain text)."""
    msgid = event.get(f"{name}_id")
    if not msgid or not isinstance(msgid, str):
        return None
    params = event.get(f"{name}_params")
    return Msg.from_json({"id": msgid, "params": params if isinstance(params, dict) else {}})


def event_text(event: dict[str, Any], name: str, lang: str | None) -> str:
    """The field ``name`` of an event (or a process record) in ``lang``: from its id and parameters when it
    was recorded as a message, else as recorded (what a program sent or printed is never looked up)."""
    msg = _recorded(event, name)
    if msg is not None:
        return msg.render(lang)
    value = event.get(name, "")
    return "" if value is None else str(value)


def event_msg(event: dict[str, Any], name: str = "text") -> Msg:
    """The field ``name`` of an event as a message (one recorded as plain text is shown as it is)."""
    msg = _recorded(event, name)
    return msg if msg is not None else literal(str(event.get(name) or ""))
