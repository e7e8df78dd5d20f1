"""A scripted TFTP peer inside a check's sandbox (RFC 1350 over UdpPeer).

The peer plays either side of a transfer:

- against a server under test it is the client: :meth:`TftpPeer.fetch` sends
  an RRQ and downloads, ACKing each DATA block;
- against a client under test it is the server: the check receives the RRQ
  on port 69 and :meth:`TftpPeer.serve` sends the file from a new socket
  (the peer's transfer ID).

Both take :class:`Faults` that bend the peer's own packets, keyed by block
number: withhold (drop) one the first time, send one twice, delay it, or have
a *stranger* (a second socket, so a wrong port) send something to the program
first.  Every datagram is logged to the evidence decoded ("DATA #3 (512 B)")
with the first bytes in hex; bulk transfers stop logging after
``log_limit`` packets and say how many were left out.
"""
from __future__ import annotations

import collections
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..protocols import tftp
from ..sandbox import Sandbox
from .udp import UdpPeer, fmt_addr

Addr = tuple[str, int]


@dataclass
class Received:
    raw: bytes
    addr: Addr
    packet: tftp.Packet | None  # None: malformed
    why: str = ""  # why it is malformed
    to: str = ""  # the label of the peer socket that got it

    def describe(self) -> str:
        return tftp.describe(self.raw)

    def wrong_opcode(self, want: int) -> str:
        """"" when this packet has opcode ``want`` (or is an ERROR); else words naming the opcode it has."""
        fault = tftp.opcode_fault(self.raw, want)
        if not fault or tftp.opcode_of(self.raw) == tftp.ERROR:
            return ""
        return f"a {len(self.raw)}-byte packet with {fault} ({self.raw[:12].hex(' ')})"


@dataclass
class Faults:
    """What the peer does to its own packets, by block number.

    ``drop``: the packet for that block is withheld the first time (a lost
    DATA when serving, a lost ACK when fetching).  ``duplicate``: sent twice.
    ``delay``: seconds to wait before sending it.  ``stranger``: bytes a
    second socket (another port) sends to the program just before it.
    """

    drop: set[int] = field(default_factory=set)
    duplicate: set[int] = field(default_factory=set)
    delay: dict[int, float] = field(default_factory=dict)
    stranger: dict[int, bytes] = field(default_factory=dict)


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
    early: list[str] = field(default_factory=list)  # lock-step violations
    problem: str = ""  # the first thing that stopped the transfer
    complete: bool = False
    unacked_last: bool = False  # serve: the final DATA got no ACK
    # serve: for each withheld DATA, (its block, seconds from withholding it to
    # the client's next packet, that packet or None if none came in time)
    after_withheld: list[tuple[int, float, Received | None]] = field(default_factory=list)


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
            raw, addr = self.sock.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return None
        except ConnectionRefusedError:
            self.sandbox.evidence.add("icmp", who=self.label, text="port unreachable (nothing listens there)")
            return None
        self._log("received", addr, self.addr, raw)
        pkt, why = tftp.try_decode(raw)
        return Received(raw, addr, pkt, why, self.label)

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

    def _send_faulty(self, packet: bytes, block: int, to: Addr, faults: Faults, dropped: set[int]) -> bool:
        """Send our packet for ``block`` as the faults say; False if it was withheld."""
        if block in faults.stranger:
            self.stranger().send(faults.stranger[block], to, note="from a wrong port")
        if block in faults.delay:
            self.sandbox.evidence.note(f"{self.label} delays {tftp.describe(packet)} by {faults.delay[block]:g} s")
            time.sleep(faults.delay[block])  # the delay is the shape of the traffic under test
        if block in faults.drop and block not in dropped:
            dropped.add(block)
            self.sandbox.evidence.add("dropped", who=self.label, tftp=tftp.describe(packet),
                                      text=f"withheld {tftp.describe(packet)} (a lost packet)")
            return False
        self.send(packet, to)
        if block in faults.duplicate:
            self.send(packet, to, note="duplicate")
        return True

    # ------------------------------------------------------------ client role
    def fetch(self, server: Addr, filename: str, *, mode: str = "octet", options: dict[str, str] | None = None,
              faults: Faults | None = None, step: float = 3.0, retransmit_wait: float = 6.0,
              lockstep_window: float = 0.0, blksize: int = tftp.BLOCK_SIZE, max_blocks: int | None = None,
              request: bytes | None = None) -> Transfer:
        """Download ``filename`` from ``server`` as a client would; ACK every block.

        ``lockstep_window``: seconds to watch for the next block before ACKing
        the first one (a server that does not wait for ACKs is caught).
        """
        faults = faults or Faults()
        log = Transfer()
        dropped: set[int] = set()
        self.send(request if request is not None else tftp.rrq(filename, mode, options), server)
        index = 1  # the block we wait for (1-based, unwrapped)
        waiting_retransmit = False
        while True:
            wait = retransmit_wait if waiting_retransmit else step
            what = f"DATA #{tftp.block_number(index)}"
            r = self.recv_packet(wait, expect_from="the server")
            if r is None:
                if waiting_retransmit:
                    log.problem = (f"after ACK #{tftp.block_number(index - 1)} was withheld, no DATA came again "
                                   f"within {wait:g} s (no retransmission)")
                else:
                    log.problem = f"no {what} within {wait:g} s"
                break
            if log.tid is None:
                log.tid = r.addr
            elif r.addr != log.tid:
                log.strays.append(r)
                continue
            if r.wrong_opcode(tftp.DATA) and tftp.opcode_of(r.raw) != tftp.OACK:
                log.problem = f"expected {what}; got {r.wrong_opcode(tftp.DATA)}"
                break
            if r.packet is None:
                log.problem = f"malformed packet instead of {what}: {r.why} ({r.raw[:16].hex(' ')})"
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
                log.problem = f"expected {what}, got {tftp.describe(pkt)}"
                break
            if pkt.block == tftp.block_number(index - 1) and index > 1:
                log.repeats.append(pkt.block)  # a retransmission: acknowledge again
                log.data.append(r)
                waiting_retransmit = False
                self.send(tftp.ack(pkt.block), log.tid, note="again")
                if log.complete:
                    break
                continue
            if pkt.block != tftp.block_number(index):
                log.problem = f"got DATA #{pkt.block} when {what} was due"
                log.data.append(r)
                break
            log.data.append(r)
            log.content += pkt.data
            window = lockstep_window if index == 1 else 0.0
            for later in self.peek(window):
                if (later.addr == log.tid and isinstance(later.packet, tftp.Data)
                        and later.packet.block == tftp.block_number(index + 1)):
                    log.early.append(f"DATA #{later.packet.block} came before ACK #{pkt.block} was sent")
            last = len(pkt.data) < blksize
            sent = self._send_faulty(tftp.ack(pkt.block), pkt.block, log.tid, faults, dropped)
            waiting_retransmit = not sent
            index += 1
            if last:
                log.complete = True
                if sent:
                    break
            if max_blocks is not None and index > max_blocks:
                log.problem = f"more than {max_blocks} blocks"
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
                    log.problem = f"no DATA #{tftp.block_number(index)} (block {index} of the file) within {step:g} s"
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
                    log.problem = f"block {index} of the file: expected DATA #{want}, got {tftp.describe(raw)}"
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
                    log.problem = f"budget: {budget:g} s were not enough; {index} blocks received"
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
              done: Callable[[], bool] | None = None) -> Transfer:
        """Send ``content`` to ``client`` from this socket, one block per ACK.

        ``strict``: only ``ACK #n`` from the client's address lets block n+1
        go; otherwise any datagram from the client's host to this socket or to
        ``also`` (e.g. port 69) does, so that a check about the file's bytes
        does not also grade the ACKs.  ``done()`` true (the client exited)
        ends the wait for the final ACK early.
        """
        faults = faults or Faults()
        log = Transfer(tid=client)
        dropped: set[int] = set()
        socks = [self, *(also or [])]
        chunks = tftp.blocks(content)
        for index, payload in enumerate(chunks, start=1):
            block = tftp.block_number(index)
            packet = tftp.data(block, payload)
            sent = self._send_faulty(packet, block, client, faults, dropped)
            withheld_at = None if sent else time.monotonic()
            final = index == len(chunks)
            while True:
                wait = step if sent else retransmit_wait
                r = _recv_any(socks, wait, stop=done if final else None)
                if withheld_at is not None:
                    log.after_withheld.append((block, time.monotonic() - withheld_at, r))
                    withheld_at = None
                if r is None:
                    if not sent:
                        log.problem = (f"after DATA #{block} was withheld, the client did not send "
                                       f"ACK #{tftp.block_number(index - 1)} again within {wait:g} s")
                    elif final:
                        log.unacked_last = True
                        log.complete = True
                    else:
                        log.problem = f"no ACK #{block} within {wait:g} s"
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
                    log.problem = f"the client sent {r.describe()}"
                    self._flush_all(socks)
                    return log
                ok = isinstance(r.packet, tftp.Ack)
                acked = r.packet.block if ok else None
                if not strict and len(r.raw) == 4:  # lenient: an ACK with a wrong opcode still names its block
                    acked = int.from_bytes(r.raw[2:4], "big")
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
                log.problem = f"expected ACK #{block}; got {r.wrong_opcode(tftp.ACK) or r.describe()}"
                self._flush_all(socks)
                return log
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
