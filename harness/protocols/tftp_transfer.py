"""One TFTP transfer (RFC 1350 lock-step) as a state machine without sockets or clocks.

A :class:`Sender` serves a file (DATA out, ACK in); a :class:`Receiver` takes
one (ACK out, DATA in).  Their caller owns the socket and the clock: it feeds
each datagram to ``packet_received(data, addr)`` and calls ``timeout()`` when
the timer it was asked to set runs out; every call returns a list of actions
for the caller to carry out, in order.  The reference server and client and
the grader's peers drive these machines, so the transfer rules live here once.

The rules (everything that decides a transfer is in this file):

1. Nothing here reads a socket or a clock.  Inputs are ``start()``,
   ``packet_received(data, addr)`` and ``timeout()``; outputs are the actions
   :class:`Send`, :class:`Deliver`, :class:`SetTimer`, :class:`Done` and
   :class:`Fail`.  Done or Fail, when it comes, is the last action of its list.
2. There is one timer.  :class:`SetTimer` (re)arms it: call ``timeout()``
   when that many seconds pass with no further SetTimer.  It comes right after
   each Send that waits for an answer.  After Done or Fail the timer is off.
3. Lock-step: one packet is outstanding at a time.  Only the awaited answer
   (the ACK of the last DATA sent; the DATA after the last ACK sent) moves a
   machine on and rearms the timer with a fresh count of tries.
4. A timeout sends the outstanding packet again, ``retries`` times at most;
   the timeout after that is a :class:`Fail`.  With ``retries=0`` a machine
   never retransmits: the first timeout is that Fail (TIMEOUT).  This is
   the grader's peer, which watches the other side's timers instead of
   running its own, and calls ``timeout()`` when its own wait runs out.
5. A duplicate or old answer never makes a packet go out a second time by
   itself (no "Sorcerer's Apprentice", RFC 1123 §4.2.3.1), except that a
   Receiver re-ACKs a repeated DATA: that DATA says our ACK was lost.
6. The transfer ID: the peer is one (address, port).  A Receiver started
   with ``learn_peer=True`` (a client whose request went to port 69) takes
   the first reply's port from the request's host as the peer.  A datagram
   from anyone else is answered with ERROR 5 and changes nothing.
7. ERROR from the peer ends the transfer (Fail) and is never answered; a
   datagram from the peer that is not a TFTP packet gets ERROR 4 and ends it.
8. A block goes to the caller (:class:`Deliver`) before the ACK that
   confirms it is sent, exactly once, in order.  A Receiver finishes (Done)
   with the first block shorter than the block size; a Sender finishes with
   the ACK of that block.  A machine's state changes before its actions are
   returned: while the caller carries out the last Deliver, ``state`` is
   already DONE (a server can put the file in place before the last ACK).
9. After Done a Receiver still answers a repeat of the last DATA with the
   last ACK (RFC 1350 §6: the last ACK may be lost); a caller that dallies
   keeps feeding it.  A failed machine does nothing more.
10. Options (RFC 2347): a Receiver whose request asked for ``options`` takes
   an OACK as the first answer from the peer instead of DATA #1: it keeps it
   (``oack``), takes its ``blksize`` as the block size and answers ACK 0,
   sent as any fresh packet (timer, tries); the OACK again is answered with
   ACK 0 again before DATA #1 (our ACK 0 was lost, as in rule 5) and ignored
   after it (a copy that came late).  An OACK unasked, or after DATA when
   none came first, is a packet that is not DATA (rule 7: ERROR 4, Fail); a
   ``blksize`` that is no number from 8 to 65464 gets ERROR 8 and a Fail.
11. A caller may filter the actions (the grader's peer withholds, repeats,
   delays a Send, and sends no ERROR: it observes the program instead of
   answering it).  The machine is not told: a withheld Send counts as sent,
   and what moves the machine is only what the caller feeds it.  A caller
   that does not feed a datagram (one it takes for an echo, or one that came
   to another of its sockets) has not shown it to the machine at all.

Block numbers wrap from 65535 to 0 (the codec's :func:`block_number`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Tuple, Union

try:  # inside netgrade
    from . import tftp
except ImportError:  # exported beside a reference program: the codec is tftp_codec.py
    import tftp_codec as tftp  # type: ignore[no-redef]

Address = Tuple[str, int]


# ------------------------------------------------------------------ actions

@dataclass(frozen=True)
class Send:
    """Send ``packet`` (bytes) to ``addr``."""

    packet: bytes
    addr: Address


@dataclass(frozen=True)
class Deliver:
    """The next block of the file, in order, each block once."""

    data: bytes


@dataclass(frozen=True)
class SetTimer:
    """(Re)arm the one timer: call ``timeout()`` after ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Done:
    """The transfer is complete: ``blocks`` blocks and ``size`` bytes went through."""

    blocks: int
    size: int


#: why a transfer failed
TIMEOUT, PEER_ERROR, MALFORMED, UNEXPECTED = "timeout", "peer error", "malformed", "unexpected"


@dataclass(frozen=True)
class Fail:
    """The transfer is abandoned.  ``cause`` is one of TIMEOUT, PEER_ERROR, MALFORMED, UNEXPECTED;
    ``error`` is the ERROR packet the peer sent (PEER_ERROR only)."""

    reason: str
    cause: str
    error: Optional[tftp.Error] = None


Action = Union[Send, Deliver, SetTimer, Done, Fail]

# states
RUNNING, DONE, FAILED = "running", "done", "failed"


class _Transfer:
    """What both directions share: the peer's transfer ID, the outstanding packet, tries, the end."""

    def __init__(self, peer: Address, *, first: bytes, timeout: float = 1.0, retries: int = 5,
                 blksize: int = tftp.BLOCK_SIZE, learn_peer: bool = False) -> None:
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.dest = tuple(peer)  # where the outstanding packet goes
        self.peer: Optional[Address] = None if learn_peer else tuple(peer)
        self.timeout_s = timeout
        self.retries = retries
        self.blksize = blksize
        self.state = RUNNING
        self.blocks = 0  # blocks through so far
        self.size = 0  # bytes through so far
        self._last = first  # the outstanding packet (sent again on timeout)
        self._tries = 0  # timeouts since it was last sent afresh

    # ------------------------------------------------------------ shared rules
    def start(self) -> list[Action]:
        """The first packet (the request, the first DATA, ACK 0 or OACK) and the timer."""
        return [Send(self._last, self.dest), SetTimer(self.timeout_s)]

    def timeout(self) -> list[Action]:
        if self.state != RUNNING:
            return []
        self._tries += 1
        if self._tries > self.retries:
            return self._fail(f"no answer after {self.retries + 1} tries", TIMEOUT)
        return [Send(self._last, self.dest), SetTimer(self.timeout_s)]

    def packet_received(self, data: bytes, addr: Address) -> list[Action]:
        addr = tuple(addr)
        if self.state == FAILED:
            return []
        if self.peer is None and self.state == RUNNING and addr[0] == self.dest[0]:
            self.peer = self.dest = addr  # the first reply fixes the peer's transfer ID
        if addr != self.peer:
            return [Send(tftp.error(tftp.ErrorCode.UNKNOWN_TID, "Unknown transfer ID"), addr)]
        packet, why = tftp.try_decode(data)
        if self.state == DONE:
            return self._after_done(packet)
        if packet is None:
            return [Send(tftp.error(tftp.ErrorCode.ILLEGAL_OPERATION, f"malformed packet: {why}"), self.dest),
                    *self._fail(f"malformed packet: {why}", MALFORMED)]
        if isinstance(packet, tftp.Error):
            return self._fail(f"the peer sent ERROR {packet.code} {packet.message!r}", PEER_ERROR, packet)
        return self._on_packet(packet)

    def _send_fresh(self, packet: bytes, wait: bool = True) -> list[Action]:
        self._last = packet
        self._tries = 0
        return [Send(packet, self.dest), SetTimer(self.timeout_s)] if wait else [Send(packet, self.dest)]

    def _fail(self, reason: str, cause: str, error: Optional[tftp.Error] = None) -> list[Action]:
        self.state = FAILED
        return [Fail(reason, cause, error)]

    def _done(self) -> Done:
        self.state = DONE
        return Done(self.blocks, self.size)

    # ------------------------------------------------------------ per direction
    def _on_packet(self, packet: tftp.Packet) -> list[Action]:
        raise NotImplementedError

    def _after_done(self, packet: Optional[tftp.Packet]) -> list[Action]:
        return []


class Sender(_Transfer):
    """Serves a file to ``peer``: DATA #1, #2, ... each after the ACK of the one before.

    ``chunks`` gives the payloads in order, each ``blksize`` long but the
    last, which is shorter (empty when need be): :func:`tftp.blocks` of the
    content, or an iterator that reads a file; it is read one chunk ahead of
    the ACKs, never further.  With ``oack`` (the OACK's options) the OACK goes
    first and ACK 0 is awaited before DATA #1; with ``request`` (a client's
    WRQ, usually with ``learn_peer=True``) the request goes first, the same
    way.  An OACK in answer to a WRQ is not handled: it is ignored, as any
    packet but the awaited ACK is.
    """

    def __init__(self, peer: Address, chunks: Union[bytes, Iterable[bytes]], *, timeout: float = 1.0,
                 retries: int = 5, blksize: int = tftp.BLOCK_SIZE, oack: Optional[dict] = None,
                 request: Optional[bytes] = None, learn_peer: bool = False) -> None:
        if isinstance(chunks, (bytes, bytearray, memoryview)):
            chunks = tftp.blocks(bytes(chunks), blksize)
        self._chunks: Iterator[bytes] = iter(chunks)
        self._index = 0  # the index (from 1) of the block outstanding; 0: the OACK
        self._chunk = b""
        self.blksize = blksize  # _next_data needs it before the shared part is set up
        if request is not None:
            first = request
        elif oack:
            first = tftp.oack(oack)
        else:
            first = self._next_data()
        super().__init__(peer, first=first, timeout=timeout, retries=retries, blksize=blksize,
                         learn_peer=learn_peer)

    def _next_data(self) -> bytes:
        self._chunk = bytes(next(self._chunks, b""))
        if len(self._chunk) > self.blksize:
            raise ValueError(f"a chunk of {len(self._chunk)} bytes is longer than the block size {self.blksize}")
        self._index += 1
        return tftp.data(tftp.block_number(self._index), self._chunk)

    @property
    def awaited(self) -> int:
        """The block number whose ACK is awaited."""
        return tftp.block_number(self._index)

    def _on_packet(self, packet: tftp.Packet) -> list[Action]:
        if not isinstance(packet, tftp.Ack) or packet.block != self.awaited:
            return []  # a duplicate or old ACK, or a stray packet: only the timer sends again
        if self._index == 0:  # ACK 0, the answer to the OACK or the WRQ
            return self._send_fresh(self._next_data())
        self.blocks += 1
        self.size += len(self._chunk)
        if len(self._chunk) < self.blksize:
            return [self._done()]
        return self._send_fresh(self._next_data())


class Receiver(_Transfer):
    """Takes a file from ``peer``: ACKs each DATA, delivers each block once, ends on a short block.

    ``first`` is what starts the transfer from this side: an RRQ (a client;
    then usually ``learn_peer=True``), ACK 0 or an OACK (a server answering
    a WRQ).  ``options``: what the RRQ asked for; then an OACK may come first
    (rule 10), and ``oack`` keeps it.  Any other OACK ends the transfer with
    ERROR 4, as any packet but DATA does.
    """

    def __init__(self, peer: Address, first: bytes, *, timeout: float = 1.0, retries: int = 5,
                 blksize: int = tftp.BLOCK_SIZE, learn_peer: bool = False, options: Optional[dict] = None) -> None:
        super().__init__(peer, first=first, timeout=timeout, retries=retries, blksize=blksize,
                         learn_peer=learn_peer)
        self._expected = 1  # the index of the block awaited
        self.options = dict(options or {})  # what the request asked for
        self.oack: Optional[tftp.OAck] = None  # the peer's OACK, once it came

    @property
    def awaited(self) -> int:
        """The block number of the DATA awaited."""
        return tftp.block_number(self._expected)

    def _on_packet(self, packet: tftp.Packet) -> list[Action]:
        if isinstance(packet, tftp.OAck) and self.oack is not None:
            # our ACK 0 was lost: again, as for a repeated DATA; after DATA #1 a copy that came late
            return [Send(tftp.ack(0), self.dest)] if self._expected == 1 else []
        if isinstance(packet, tftp.OAck) and self.options and self._expected == 1:
            return self._on_oack(packet)
        if not isinstance(packet, tftp.Data):
            return [Send(tftp.error(tftp.ErrorCode.ILLEGAL_OPERATION, "expected DATA"), self.dest),
                    *self._fail(f"expected DATA, got {tftp.describe(packet)}", UNEXPECTED)]
        if packet.block == self.awaited:
            self.blocks += 1
            self.size += len(packet.data)
            self._expected += 1
            last = len(packet.data) < self.blksize
            actions: list[Action] = [Deliver(packet.data)]
            actions += self._send_fresh(tftp.ack(packet.block), wait=not last)
            if last:
                actions.append(self._done())
            return actions
        if self._expected > 1 and packet.block == tftp.block_number(self._expected - 1):
            return [Send(tftp.ack(packet.block), self.dest)]  # our ACK was lost: again, deliver nothing
        return []

    def _on_oack(self, packet: tftp.OAck) -> list[Action]:
        value = packet.options.get("blksize", str(self.blksize))
        if not (value.isascii() and value.isdigit() and 8 <= int(value) <= 65464):
            return [Send(tftp.error(tftp.ErrorCode.OPTION_REFUSED, f"blksize {value!r}"), self.dest),
                    *self._fail(f"OACK with blksize {value!r}", UNEXPECTED)]
        self.oack = packet
        self.blksize = int(value)
        return self._send_fresh(tftp.ack(0))

    def _after_done(self, packet: Optional[tftp.Packet]) -> list[Action]:
        if isinstance(packet, tftp.Data) and packet.block == tftp.block_number(self._expected - 1):
            return [Send(self._last, self.dest)]
        return []
