"""The evidence of one check: a timestamped record of the exchange.

Peers log every datagram, segment and connection event; program runs log
their stdin, output and exit.  The record is plain data (it travels from
pytest workers to the grader as JSON) and is bounded in size whatever a
program does: at most MAX_EVENTS events and PREVIEW bytes of each payload.
"""
from __future__ import annotations

import time
from typing import Any

from .text import decode, hexdump, printable

MAX_EVENTS = 400
PREVIEW = 512


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

    def add(self, kind: str, **fields: Any) -> None:
        if len(self.events) >= MAX_EVENTS:
            self.dropped += 1
            return
        self.events.append({"t": self.now(), "kind": kind, **fields})

    def packet(self, direction: str, proto: str, src: str, dst: str, data: bytes, **extra: Any) -> None:
        """direction: 'sent' (by the peer) or 'received' (by the peer)."""
        self.add(direction, proto=proto, src=src, dst=dst, **payload_fields(data), **extra)

    def note(self, text: str) -> None:
        self.add("note", text=text)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"events": self.events, "processes": self.processes}
        if self.dropped:
            out["events_dropped"] = self.dropped
        if self.facts:
            out["facts"] = self.facts
        return out
