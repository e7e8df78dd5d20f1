"""A scripted TFTP peer inside a check's sandbox (RFC 1350 over UdpPeer).

The peer plays either side of a transfer:

- against a server under test it is the client: :meth:`TftpPeer.fetch` sends
  an RRQ and downloads, ACKing each DATA block;
- against a client under test it is the server: the check receives the RRQ
  on port 69 and :meth:`TftpPeer.serve` sends the file from a new socket
  (the peer's transfer ID).

Both take :class:`Faults` that bend the peer's own packets, keyed by block
number: withhold (drop) one the first time (or the first few times), send one
twice, send an old block again late, delay it, or have a *stranger* (a second
socket, so a wrong port) send something to the program first.  Every datagram
is logged to the evidence decoded ("DATA #3 (512 B)") with the first bytes in
hex; bulk transfers stop logging after ``log_limit`` packets and say how many
were left out.

Timers.  Every datagram carries the time the kernel received it
(``SO_TIMESTAMPNS``), so the gap between two copies of a packet is measured
where it arrived, not when a busy grader got round to reading it.  Where the
peer withholds a packet to see the program retransmit, ``echo_window`` says
how soon a copy of the program's last packet is still "the same send" (a copy
sent together with it, before any timer could fire) rather than a
retransmission: such a copy is logged and does not count.
"""
from __future__ import annotations

import collections
import select
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..i18n import N_, Msg
from ..protocols import tftp
from ..sandbox import Sandbox
from .udp import UdpPeer, fmt_addr

Addr = tuple[str, int]

# SO_TIMESTAMPNS in <asm-generic/socket.h> (x86, arm64 and most others): the kernel's receive time
# of each datagram as a struct timespec in the ancillary data.  Where it is missing, the time of
# reading stands in.
_SO_TIMESTAMPNS = 35 if sys.platform.startswith("linux") else None
_TIMESPEC = struct.Struct("@ll")


def _enable_stamps(sock) -> bool:
    if _SO_TIMESTAMPNS is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def _stamp(ancdata) -> float | None:
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec + nsec / 1e9
    return None


@dataclass
class Received:
    raw: bytes
    addr: Addr
    packet: tftp.Packet | None  # None: malformed
    why: str = ""  # why it is malformed
    to: str = ""  # the label of the peer socket that got it
    at: float = 0.0  # when it arrived (epoch seconds; the kernel's receive time where it is known)

    def describe(self) -> Msg | str:
        if self.packet is None and self.why:  # the codec's words, in the report's language
            return Msg(N_("malformed, {size} B: {why}"), {"size": len(self.raw), "why": self.why})
        return tftp.describe(self.raw)

    def wrong_opcode(self, want: int) -> Msg | str:
        """"" when this packet has opcode ``want`` (or is an ERROR); else words naming the opcode it has."""
        fault = tftp.opcode_fault(self.raw, want)
        if not fault or tftp.opcode_of(self.raw) == tftp.ERROR:
            return ""
        return Msg(N_("a {n_raw}-byte packet with {fault} ({hex})"),
                {"n_raw": len(self.raw), "fault": fault, "hex": self.raw[:12].hex(' ')})


@dataclass
class Faults:
    """What the peer does to its own packets, by block number.

    ``drop``: the packet for that block is withheld the first time (a lost
    DATA when serving, a lost ACK when fetching); ``drop_times`` makes it the
    first n times (when fetching: the ACK of the retransmitted block is lost
    too).  ``duplicate``: sent twice.  ``late``: when serving, ``{k: j}``
    sends DATA #j again just before DATA #k (a copy the network delayed).
    ``delay``: seconds to wait before sending it.  ``stranger``: bytes a
    second socket (another port) sends to the program just before it.
    """

    drop: set[int] = field(default_factory=set)
    drop_times: dict[int, int] = field(default_factory=dict)
    duplicate: set[int] = field(default_factory=set)
    late: dict[int, int] = field(default_factory=dict)
    delay: dict[int, float] = field(default_factory=dict)
    stranger: dict[int, bytes] = field(default_factory=dict)

    def withholds(self, block: int) -> int:
        """How many times the packet for ``block`` is withheld."""
        return self.drop_times.get(block, 1) if block in self.drop else 0


@dataclass
class AfterWithheld:
    """A packet (or None: nothing in time) the program sent while the peer withheld ``block``."""

    block: int
    waited: float  # seconds from withholding to this packet (or to giving up)
    packet: Received | None
    gap: float | None = None  # seconds since the packet that the withheld one answered arrived
    echo: bool = False  # a copy of that packet sent together with it: not a retransmission


@dataclass
class Transfer:
    """What happened in one fetch or serve."""

    content: bytearray = field(default_factory=bytearray)
    tid: Addr | None = None  # the other side's transfer address
    data: list[Received] = field(default_factory=list)  # DATA packets received (fetch), repeats included
    acks: list[Received] = field(default_factory=list)  # ACKs (or anything) received (serve)
    oack: tftp.OAck | None = None
    error: tftp.Error | None = None
    strays: list[Received] = field(default_factory=list)  # packets from a wrong address, or to a wrong socket
    repeats: list[int] = field(default_factory=list)  # blocks received again (retransmissions)
    # fetch: (block, seconds since the copy before it) of every retransmission counted, and of
    # every copy that came within the echo window (not counted)
    repeat_gaps: list[tuple[int, float]] = field(default_factory=list)
    echoes: list[tuple[int, float]] = field(default_factory=list)
    early: list[Msg] = field(default_factory=list)  # lock-step violations
    problem: Msg | str = ""  # the first thing that stopped the transfer
    complete: bool = False
    unacked_last: bool = False  # serve: the final DATA got no ACK
    # serve: for each withheld DATA, the client's packets until one made the
    # peer send the block (or None: nothing in time), echoes included
    after_withheld: list[AfterWithheld] = field(default_factory=list)


class TftpPeer(UdpPeer):
    """One UDP socket of the grader that reads and writes TFTP packets."""

    def __init__(self, sandbox: Sandbox, port: int = 0, host: str | None = None, label: str = "peer",
                 log_limit: int = 300) -> None:
        super().__init__(sandbox, port, host, label)
        self.log_limit = log_limit
        self.logged = 0
        self.unlogged = 0
        self._pending: collections.deque[Received] = collections.deque()
        self._stranger: TftpPeer | None = None
        self._stamped = _enable_stamps(self.sock)

    # ------------------------------------------------------------ logging
    def _log(self, direction: str, src: Addr, dst: Addr, data: bytes, note: str = "") -> None:
        if self.logged >= self.log_limit:
            self.unlogged += 1
            return
        self.logged += 1
        extra = {"tftp": tftp.describe(data), "who": self.label}
        if note:
            extra["note"] = note
        self.sandbox.evidence.packet(direction, "udp", fmt_addr(src), fmt_addr(dst), data, **extra)

    def flush_log(self) -> None:
        if self.unlogged:
            self.sandbox.evidence.note(f"{self.label}: {self.unlogged} more packets not logged")
            self.unlogged = 0

    # ------------------------------------------------------------ raw I/O
    def send(self, data: bytes, to: Addr, note: str = "") -> None:
        try:
            self.sock.sendto(data, to)
        except ConnectionRefusedError:  # an ICMP error for an earlier datagram; this one still left
            self.sock.sendto(data, to)
        self._log("sent", self.addr, to, data, note)

    def _read_one(self) -> Received | None:
        try:
            raw, anc, _, addr = self.sock.recvmsg(65536, socket.CMSG_SPACE(_TIMESPEC.size) if self._stamped else 0)
        except (BlockingIOError, InterruptedError):
            return None
        except ConnectionRefusedError:
            self.sandbox.evidence.add("icmp", who=self.label, text="port unreachable (nothing listens there)")
            return None
        at = _stamp(anc) or time.time()
        self._log("received", addr, self.addr, raw)
        pkt, why = tftp.try_decode(raw)
        return Received(raw, addr, pkt, why, self.label, at)

    def recv_packet(self, timeout: float, expect_from: str = "the program",
                    stop: Callable[[], bool] | None = None) -> Received | None:
        """The next packet, or None after ``timeout`` s (or once ``stop()`` is true)."""
        if self._pending:
            return self._pending.popleft()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (stop is not None and stop()):
                self.sandbox.evidence.add("timeout", who=self.label, waited_s=round(timeout, 3),
                                          text=f"nothing from {expect_from} within {timeout:g} s")
                return None
            slice_ = min(left, 0.05) if stop is not None else left
            if select.select([self.sock], [], [], slice_)[0]:
                got = self._read_one()
                if got is not None:
                    return got

    def peek(self, window: float) -> list[Received]:
        """Packets arriving within ``window`` s, kept for the next recv_packet calls."""
        deadline = time.monotonic() + window
        while True:
            left = max(0.0, deadline - time.monotonic())
            if not select.select([self.sock], [], [], left)[0]:
                break
            got = self._read_one()
            if got is not None:
                self._pending.append(got)
        return list(self._pending)

    def drain(self, window: float = 0.0) -> list[Received]:
        """Every packet within ``window`` s (pending ones first), consumed."""
        self.peek(window)
        out = list(self._pending)
        self._pending.clear()
        return out

    # ------------------------------------------------------------ faults
    def stranger(self) -> TftpPeer:
        """A second socket on another port: the "wrong transfer ID"."""
        if self._stranger is None:
            self._stranger = TftpPeer(self.sandbox, label=f"stranger (not {self.label})")
        return self._stranger

    def _withhold(self, packet: bytes, block: int, faults: Faults, dropped: dict[int, int]) -> bool:
        """True (and logged) when our packet for ``block`` is to be withheld this time."""
        if dropped.get(block, 0) >= faults.withholds(block):
            return False
        dropped[block] = dropped.get(block, 0) + 1
        times = Msg(N_(" (time {dropped} of {withholds})"),
                {"dropped": dropped[block], "withholds": faults.withholds(block)}) if faults.withholds(block) > 1 else ""
        self.sandbox.evidence.add("dropped", who=self.label, tftp=tftp.describe(packet),
                                  text=f"withheld {tftp.describe(packet)} (a lost packet){times}")
        return True

    def _send_faulty(self, packet: bytes, block: int, to: Addr, faults: Faults, dropped: dict[int, int]) -> bool:
        """Send our packet for ``block`` as the faults say; False if it was withheld."""
        if block in faults.stranger:
            self.stranger().send(faults.stranger[block], to, note="from a wrong port")
        if block in faults.delay:
            self.sandbox.evidence.note(f"{self.label} delays {tftp.describe(packet)} by {faults.delay[block]:g} s")
            time.sleep(faults.delay[block])  # the delay is the shape of the traffic under test
        if self._withhold(packet, block, faults, dropped):
            return False
        self.send(packet, to)
        if block in faults.duplicate:
            self.send(packet, to, note="duplicate")
        return True

    # ------------------------------------------------------------ client role
    def fetch(self, server: Addr, filename: str, *, mode: str = "octet", options: dict[str, str] | None = None,
              faults: Faults | None = None, step: float = 3.0, retransmit_wait: float = 6.0,
              lockstep_window: float = 0.0, lockstep_all: bool = False, echo_window: float = 0.0,
              blksize: int = tftp.BLOCK_SIZE, max_blocks: int | None = None,
              request: bytes | None = None) -> Transfer:
        """Download ``filename`` from ``server`` as a client would; ACK every block.

        ``lockstep_window``: seconds to watch for the next block before ACKing
        the first one (every one with ``lockstep_all``): a server that does not
        wait for ACKs is caught.  ``echo_window``: while an ACK is withheld, a
        copy of the block that arrives this soon after the copy before it is
        logged in ``echoes`` and not taken for a retransmission.
        """
        faults = faults or Faults()
        log = Transfer()
        dropped: dict[int, int] = {}
        self.send(request if request is not None else tftp.rrq(filename, mode, options), server)
        index = 1  # the block we wait for (1-based, unwrapped)
        waiting_retransmit = False
        deadline = 0.0  # while waiting for a retransmission: until when
        last_copy: Received | None = None  # the last copy of the block whose ACK is withheld
        while True:
            wait = max(0.0, deadline - time.monotonic()) if waiting_retransmit else step
            what = Msg(N_("DATA #{block_number}"),
                    {"block_number": tftp.block_number(index)})
            r = self.recv_packet(wait, expect_from="the server")
            if r is None:
                if waiting_retransmit:
                    again = Msg(N_(" again")) if dropped.get(tftp.block_number(index - 1), 0) > 1 else ""
                    log.problem = (Msg(N_("after ACK #{block_number} was withheld{again}, no DATA came again within "
                                "{retransmit_wait:g} s (no retransmission)"),
                            {"block_number": tftp.block_number(index - 1), "again": again,
                             "retransmit_wait": retransmit_wait}))
                else:
                    log.problem = Msg(N_("no {what} within {wait:g} s"),
                            {"what": what, "wait": wait})
                break
            if log.tid is None:
                log.tid = r.addr
            elif r.addr != log.tid:
                log.strays.append(r)
                continue
            if r.wrong_opcode(tftp.DATA) and tftp.opcode_of(r.raw) != tftp.OACK:
                log.problem = Msg(N_("expected {what}; got {wrong_opcode}"),
                        {"what": what, "wrong_opcode": r.wrong_opcode(tftp.DATA)})
                break
            if r.packet is None:
                log.problem = Msg(N_("malformed packet instead of {what}: {why} ({hex})"),
                        {"what": what, "why": r.why, "hex": r.raw[:16].hex(' ')})
                break
            pkt = r.packet
            if isinstance(pkt, tftp.Error):
                log.error = pkt
                break
            if isinstance(pkt, tftp.OAck) and options and index == 1 and log.oack is None:
                log.oack = pkt
                blksize = int(pkt.options.get("blksize", blksize))
                self.send(tftp.ack(0), log.tid)
                continue
            if not isinstance(pkt, tftp.Data):
                log.problem = Msg(N_("expected {what}, got {got}"),
                        {"what": what, "got": tftp.describe(pkt)})
                break
            if pkt.block == tftp.block_number(index - 1) and index > 1:
                log.data.append(r)
                if waiting_retransmit and last_copy is not None:
                    gap = r.at - last_copy.at
                    if gap < echo_window:  # sent together with the copy before it: no timer did that
                        log.echoes.append((pkt.block, gap))
                        continue
                    log.repeat_gaps.append((pkt.block, gap))
                    last_copy = r
                log.repeats.append(pkt.block)  # a retransmission: acknowledge again
                ack = tftp.ack(pkt.block)
                if waiting_retransmit and self._withhold(ack, pkt.block, faults, dropped):
                    deadline = time.monotonic() + retransmit_wait  # this ACK is lost too: wait for the next
                    continue
                waiting_retransmit = False
                self.send(ack, log.tid, note="again")
                if log.complete:
                    break
                continue
            if pkt.block != tftp.block_number(index):
                log.problem = Msg(N_("got DATA #{block} when {what} was due"),
                        {"block": pkt.block, "what": what})
                log.data.append(r)
                break
            log.data.append(r)
            log.content += pkt.data
            window = lockstep_window if index == 1 or lockstep_all else 0.0
            for later in self.peek(window):
                if (later.addr == log.tid and isinstance(later.packet, tftp.Data)
                        and later.packet.block == tftp.block_number(index + 1)):
                    log.early.append(Msg(N_("DATA #{block} came before ACK #{block2} was sent"),
                            {"block": later.packet.block, "block2": pkt.block}))
            last = len(pkt.data) < blksize
            sent = self._send_faulty(tftp.ack(pkt.block), pkt.block, log.tid, faults, dropped)
            waiting_retransmit = not sent
            if not sent:
                deadline = time.monotonic() + retransmit_wait
                last_copy = r
            index += 1
            if last:
                log.complete = True
                if sent:
                    break
            if max_blocks is not None and index > max_blocks:
                log.problem = Msg(N_("more than {max_blocks} blocks"),
                        {"max_blocks": max_blocks})
                break
        self.flush_log()
        return log

    def fetch_bulk(self, server: Addr, filename: str, *, step: float = 3.0, budget: float = 20.0,
                   log_first: int = 12) -> Transfer:
        """Download a large file as fast as the peer can (for the block-number wrap).

        A lean loop: blocking reads, no per-packet objects; only the first
        ``log_first`` and the last few packets are logged.  Stops with
        ``problem`` starting "budget" when ``budget`` seconds are not enough.
        """
        log = Transfer()
        sock = self.sock
        sock.setblocking(True)
        sock.settimeout(step)
        self.send(tftp.rrq(filename), server)
        index, tail = 1, collections.deque(maxlen=4)
        deadline = time.monotonic() + budget
        try:
            while True:
                try:
                    raw, addr = sock.recvfrom(65536)
                except TimeoutError:
                    log.problem = Msg(N_("no DATA #{block_number} (block {index} of the file) within {step:g} s"),
                            {"block_number": tftp.block_number(index), "index": index, "step": step})
                    break
                except ConnectionRefusedError:
                    continue
                if log.tid is None:
                    log.tid = addr
                if index <= log_first:
                    self._log("received", addr, self.addr, raw)
                else:
                    tail.append((addr, raw))
                if addr != log.tid:
                    continue
                want = tftp.block_number(index)
                if raw[:2] != b"\x00\x03" or len(raw) < 4 or int.from_bytes(raw[2:4], "big") != want:
                    if raw[:2] == b"\x00\x03" and int.from_bytes(raw[2:4], "big") == tftp.block_number(index - 1):
                        log.repeats.append(index - 1)
                        continue
                    log.problem = Msg(N_("block {index} of the file: expected DATA #{want}, got {got}"),
                            {"index": index, "want": want, "got": tftp.describe(raw)})
                    if raw[:2] == b"\x00\x05":
                        log.error = tftp.decode(raw) if tftp.try_decode(raw)[0] else None
                    break
                log.content += raw[4:]
                reply = tftp.ack(want)
                sock.sendto(reply, addr)
                if index <= log_first:
                    self._log("sent", self.addr, addr, reply)
                if len(raw) - 4 < tftp.BLOCK_SIZE:
                    log.complete = True
                    break
                index += 1
                if index % 4096 == 0 and time.monotonic() > deadline:
                    log.problem = Msg(N_("budget: {budget:g} s were not enough; {index} blocks received"),
                            {"budget": budget, "index": index})
                    break
        finally:
            sock.setblocking(False)
        for addr, raw in tail:
            self._log("received", addr, self.addr, raw, note="one of the last packets")
        self.sandbox.evidence.note(f"{self.label}: {index} DATA blocks in the bulk download "
                                   f"({len(log.content)} bytes)")
        return log

    # ------------------------------------------------------------ server role
    def serve(self, client: Addr, content: bytes, *, faults: Faults | None = None, step: float = 3.0,
              retransmit_wait: float = 6.0, strict: bool = True, also: list[TftpPeer] | None = None,
              done: Callable[[], bool] | None = None, echo_window: float = 0.0) -> Transfer:
        """Send ``content`` to ``client`` from this socket, one block per ACK.

        ``strict``: only ``ACK #n`` from the client's address lets block n+1
        go; otherwise any datagram from the client's host to this socket or to
        ``also`` (e.g. port 69) does, so that a check about the file's bytes
        does not also grade the ACKs.  ``done()`` true (the client exited)
        ends the wait for the final ACK early.  ``echo_window``: while a DATA
        is withheld, a copy of the packet that released it (the same bytes from
        the same socket to the same socket) arriving this soon after it is an
        echo, logged in ``after_withheld`` and not taken for the client sending
        again.
        """
        faults = faults or Faults()
        log = Transfer(tid=client)
        dropped: dict[int, int] = {}
        socks = [self, *(also or [])]
        chunks = tftp.blocks(content)
        late_acks: set[int] = set()  # old blocks sent again late: an ACK naming one is its answer
        trigger: Received | None = None  # the packet that released the block being sent
        for index, payload in enumerate(chunks, start=1):
            block = tftp.block_number(index)
            packet = tftp.data(block, payload)
            if index in faults.late:
                j = faults.late[index]
                self.send(tftp.data(tftp.block_number(j), chunks[j - 1]), client,
                          note=f"DATA #{j} again, late (a copy the network delayed)")
                late_acks.add(tftp.block_number(j))
            sent = self._send_faulty(packet, block, client, faults, dropped)
            withheld_at = None if sent else time.monotonic()
            final = index == len(chunks)
            while True:
                wait = step if sent else max(0.0, withheld_at + retransmit_wait - time.monotonic())
                r = _recv_any(socks, wait, stop=done if final else None)
                if not sent:
                    gap = r.at - trigger.at if r is not None and trigger is not None else None
                    echo = (gap is not None and gap < echo_window and r.raw == trigger.raw
                            and r.addr == trigger.addr and r.to == trigger.to)
                    log.after_withheld.append(AfterWithheld(block, time.monotonic() - withheld_at, r, gap, echo))
                    if echo:
                        log.acks.append(r)
                        continue
                if r is None:
                    if not sent:
                        log.problem = (Msg(N_("after DATA #{block} was withheld, the client did not send ACK #{block_number} "
                                    "again within {retransmit_wait:g} s"),
                                {"block": block, "block_number": tftp.block_number(index - 1),
                                 "retransmit_wait": retransmit_wait}))
                    elif final:
                        log.unacked_last = True
                        log.complete = True
                    else:
                        log.problem = Msg(N_("no ACK #{block} within {wait:g} s"),
                                {"block": block, "wait": wait})
                    self._flush_all(socks)
                    return log
                if r.addr[0] != client[0]:
                    log.strays.append(r)
                    continue
                if strict and (r.addr != client or r.to != self.label):
                    log.strays.append(r)
                    continue
                log.acks.append(r)
                if isinstance(r.packet, tftp.Error):
                    log.error = r.packet
                    log.problem = Msg(N_("the client sent {got}"),
                            {"got": r.describe()})
                    self._flush_all(socks)
                    return log
                ok = isinstance(r.packet, tftp.Ack)
                acked = r.packet.block if ok else None
                if not strict and len(r.raw) == 4:  # lenient: an ACK with a wrong opcode still names its block
                    acked = int.from_bytes(r.raw[2:4], "big")
                if acked is not None and acked in late_acks and acked != block:
                    late_acks.discard(acked)  # the answer to the late copy: it moves nothing
                    continue
                if acked is not None and index > 1 and acked == tftp.block_number(index - 1):
                    log.repeats.append(acked)
                    if not sent:
                        self.send(packet, client, note="after the repeated ACK")
                        sent = True
                    continue  # a duplicate ACK: ignored, as RFC 1123 §4.2.3.1 says
                if not strict:
                    if not sent:  # anything else counts as the repeated ACK too
                        log.repeats.append(tftp.block_number(index - 1))
                        self.send(packet, client, note="after the client sent again")
                        sent = True
                        continue
                    break
                if ok and r.packet.block == block and sent:
                    break
                log.problem = Msg(N_("expected ACK #{block}; got {got}"),
                        {"block": block, "got": r.wrong_opcode(tftp.ACK) or r.describe()})
                self._flush_all(socks)
                return log
            trigger = r
            log.content += payload
        log.complete = True
        self._flush_all(socks)
        return log

    def _flush_all(self, socks: list[TftpPeer]) -> None:
        for s in socks:
            s.flush_log()


def _recv_any(peers: list[TftpPeer], timeout: float, stop: Callable[[], bool] | None = None) -> Received | None:
    """The next packet on any of ``peers`` (pending ones first)."""
    for p in peers:
        if p._pending:
            return p._pending.popleft()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        stopping = stop is not None and stop()
        if left <= 0 or stopping:
            # a packet sent just before the stop (a final ACK, then exit) is
            # still queued: take it before giving up
            ready = select.select([p.sock for p in peers], [], [], 0)[0]
            for p in peers:
                if p.sock in ready:
                    got = p._read_one()
                    if got is not None:
                        return got
            return None
        ready = select.select([p.sock for p in peers], [], [], min(left, 0.05) if stop else left)[0]
        for p in peers:
            if p.sock in ready:
                got = p._read_one()
                if got is not None:
                    return got


def recv_any(peers: list[TftpPeer], timeout: float) -> Received | None:
    """The next packet on any of ``peers`` within ``timeout`` s, or None."""
    return _recv_any(peers, timeout)
