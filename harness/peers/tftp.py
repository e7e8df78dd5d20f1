"""A scripted TFTP peer inside a check's sandbox (RFC 1350 over UdpPeer).

The peer plays either side of a transfer:

- against a server under test it is the client: :meth:`TftpPeer.fetch` sends
  an RRQ and downloads, ACKing each DATA block;
- against a client under test it is the server: the check receives the RRQ
  on port 69 and :meth:`TftpPeer.serve` sends the file from a new socket
  (the peer's transfer ID).

Each transfer is the sans-IO machine of ``protocols/tftp_transfer.py`` (a
Receiver when fetching, a Sender when serving) with ``retries=0``: the peer
never retransmits, it waits for the program's own timers and ends the
transfer when its wait runs out.  Both take :class:`Faults` that bend the
peer's own packets, keyed by block number, applied by :class:`FaultFilter`
to the machine's Send actions: withhold (drop) one the first time (or the
first few times), send one twice, send an old block again late, delay it, or
have a *stranger* (a second socket, so a wrong port) send something to the
program first; an ERROR the machine would send is not sent.  Every datagram
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
from ..protocols import tftp_transfer as transfer
from ..sandbox import Sandbox
from .udp import UdpPeer, fmt_addr

Addr = tuple[str, int]

# SO_TIMESTAMPNS in <asm-generic/socket.h> (x86, arm64 and most others): the kernel's receive time
# of each datagram as a struct timespec in the ancillary data.  Where it is missing, the time of
# reading stands in.
_SO_TIMESTAMPNS = 35 if sys.platform.startswith("linux") else None
_TIMESPEC = struct.Struct("@ll")

#: who a peer waits for, unless told
THE_PROGRAM = Msg(N_("the program"))


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
    def _log(self, direction: str, src: Addr, dst: Addr, data: bytes, note: Msg | str = "") -> None:
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
            self.sandbox.evidence.note(Msg(N_("{label}: {count} more packets not logged"),
                                           {"label": self.label, "count": self.unlogged}))
            self.unlogged = 0

    # ------------------------------------------------------------ raw I/O
    def send(self, data: bytes, to: Addr, note: Msg | str = "") -> None:
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
            self.sandbox.evidence.add("icmp", who=self.label, text=Msg(N_("port unreachable (nothing listens there)")))
            return None
        at = _stamp(anc) or time.time()
        self._log("received", addr, self.addr, raw)
        pkt, why = tftp.try_decode(raw)
        return Received(raw, addr, pkt, why, self.label, at)

    def recv_packet(self, timeout: float, expect_from: Msg | str = THE_PROGRAM,
                    stop: Callable[[], bool] | None = None) -> Received | None:
        """The next packet, or None after ``timeout`` s (or once ``stop()`` is true)."""
        if self._pending:
            return self._pending.popleft()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (stop is not None and stop()):
                self.sandbox.evidence.add("timeout", who=self.label, waited_s=round(timeout, 3),
                                          text=Msg(N_("nothing from {sender} within {seconds} s"),
                                                   {"sender": expect_from, "seconds": f"{timeout:g}"}))
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
            self._stranger = TftpPeer(self.sandbox, label=Msg(N_("stranger (not {label})"), {"label": self.label}))
        return self._stranger

    # ------------------------------------------------------------ client role
    def fetch(self, server: Addr, filename: str, *, mode: str = "octet", options: dict[str, str] | None = None,
              faults: Faults | None = None, step: float = 3.0, retransmit_wait: float = 6.0,
              lockstep_window: float = 0.0, lockstep_all: bool = False, echo_window: float = 0.0,
              blksize: int = tftp.BLOCK_SIZE, max_blocks: int | None = None,
              request: bytes | None = None) -> Transfer:
        """Download ``filename`` from ``server`` as a client would; ACK every block.

        The transfer is a :class:`tftp_transfer.Receiver` that never
        retransmits (``retries=0``): the peer waits ``step`` for each packet,
        ``retransmit_wait`` after withholding an ACK, and ends the transfer
        when that runs out.  ``lockstep_window``: seconds to watch for the
        next block before ACKing the first one (every one with
        ``lockstep_all``): a server that does not wait for ACKs is caught.
        ``echo_window``: while an ACK is withheld, a copy of the block that
        arrives this soon after the copy before it is logged in ``echoes``,
        not taken for a retransmission and not shown to the machine.
        """
        log = Transfer()
        first = request if request is not None else tftp.rrq(filename, mode, options)
        machine = transfer.Receiver(server, first, timeout=step, retries=0, blksize=blksize, learn_peer=True,
                                    options=options)
        faults_ = FaultFilter(self, faults)
        for action in machine.start():  # the request
            if isinstance(action, transfer.Send):
                faults_.send(action, fresh=True)
        deadline = time.monotonic() + step
        held = False  # our last ACK is withheld: the server's retransmission is awaited
        last_copy: Received | None = None  # the last copy of the block whose ACK is withheld
        while True:
            what = Msg(N_("DATA #{block_number}"), {"block_number": tftp.block_number(machine.blocks + 1)})
            r = self.recv_packet(max(0.0, deadline - time.monotonic()), expect_from=Msg(N_("the server")))
            if r is None:
                machine.timeout()  # retries=0: the end, never a retransmission
                if held:
                    block = tftp.block_number(machine.blocks)
                    again = Msg(N_(" again")) if faults_.withheld(block) > 1 else ""
                    log.problem = Msg(N_("after ACK #{block_number} was withheld{again}, no DATA came again within "
                                         "{retransmit_wait:g} s (no retransmission)"),
                                      {"block_number": block, "again": again, "retransmit_wait": retransmit_wait})
                else:
                    log.problem = Msg(N_("no {what} within {wait:g} s"), {"what": what, "wait": step})
                break
            repeat = (machine.blocks >= 1 and isinstance(r.packet, tftp.Data)
                      and r.packet.block == tftp.block_number(machine.blocks) and r.addr == machine.peer)
            if repeat:
                log.data.append(r)
                if held and last_copy is not None:
                    gap = r.at - last_copy.at
                    if gap < echo_window:  # sent together with the copy before it: no timer did that
                        log.echoes.append((r.packet.block, gap))
                        continue
                    log.repeat_gaps.append((r.packet.block, gap))
                    last_copy = r
            actions = machine.packet_received(r.raw, r.addr)
            if log.tid is None:
                log.tid = machine.peer
            if r.addr != machine.peer:  # another transfer ID: the machine's ERROR 5 is not sent
                log.strays.append(r)
                continue
            failed = next((a for a in actions if isinstance(a, transfer.Fail)), None)
            delivered = next((a for a in actions if isinstance(a, transfer.Deliver)), None)
            ack = next((a for a in actions if isinstance(a, transfer.Send) and tftp.opcode_of(a.packet) == tftp.ACK),
                       None)
            if failed is not None or ack is None:  # an ERROR, a broken packet, DATA out of turn
                if failed is not None and failed.error is not None:
                    log.error = failed.error
                elif isinstance(r.packet, tftp.Error):  # after the end: the machine no longer listens
                    log.error = r.packet
                elif isinstance(r.packet, tftp.Data) and failed is None:
                    log.problem = Msg(N_("got DATA #{block} when {what} was due"), {"block": r.packet.block, "what": what})
                    log.data.append(r)
                else:
                    log.problem = _not_data(r, what)
                break
            if isinstance(r.packet, tftp.OAck):  # the OACK (or it again), answered with ACK 0
                faults_.send(ack, fresh=log.oack is None, note=Msg(N_("again")))
                log.oack = machine.oack
                deadline = time.monotonic() + step
                continue
            if delivered is None:  # the previous block again: the machine ACKs it again
                log.repeats.append(r.packet.block)
                if not faults_.send(ack, fresh=False, note=Msg(N_("again"))):
                    deadline = time.monotonic() + retransmit_wait  # this ACK is lost too: wait for the next
                    continue
                held = False
                deadline = time.monotonic() + step
                if log.complete:
                    break
                continue
            log.data.append(r)
            log.content += delivered.data
            window = lockstep_window if machine.blocks == 1 or lockstep_all else 0.0
            for later in self.peek(window):
                if (later.addr == machine.peer and isinstance(later.packet, tftp.Data)
                        and later.packet.block == tftp.block_number(machine.blocks + 1)):
                    log.early.append(Msg(N_("DATA #{block} came before ACK #{block2} was sent"),
                                         {"block": later.packet.block, "block2": r.packet.block}))
            sent = faults_.send(ack, fresh=True)
            held = not sent
            if held:
                deadline = time.monotonic() + retransmit_wait
                last_copy = r
            else:
                deadline = time.monotonic() + step
            if machine.state == transfer.DONE:
                log.complete = True
                if sent:
                    break
            if max_blocks is not None and machine.blocks + 1 > max_blocks:
                log.problem = Msg(N_("more than {max_blocks} blocks"), {"max_blocks": max_blocks})
                break
        self.flush_log()
        return log

    def fetch_bulk(self, server: Addr, filename: str, *, step: float = 3.0, budget: float = 20.0,
                   log_first: int = 12) -> Transfer:
        """Download a large file as fast as the peer can (for the block-number wrap).

        A lean loop around a :class:`tftp_transfer.Receiver`: blocking reads,
        only the first ``log_first`` and the last few packets logged, and a
        repeated block is not ACKed again (it is counted in ``repeats``).
        Stops with ``problem`` starting "budget" when ``budget`` seconds are
        not enough.
        """
        log = Transfer()
        machine = transfer.Receiver(server, tftp.rrq(filename), timeout=step, retries=0, learn_peer=True)
        sock = self.sock
        sock.setblocking(True)
        sock.settimeout(step)
        for action in machine.start():
            if isinstance(action, transfer.Send):
                self.send(action.packet, action.addr)
        tail = collections.deque(maxlen=4)
        deadline = time.monotonic() + budget
        try:
            while True:
                index = machine.blocks + 1
                try:
                    raw, addr = sock.recvfrom(65536)
                except TimeoutError:
                    machine.timeout()
                    log.problem = Msg(N_("no DATA #{block_number} (block {index} of the file) within {step:g} s"),
                                      {"block_number": tftp.block_number(index), "index": index, "step": step})
                    break
                except ConnectionRefusedError:
                    continue
                if index <= log_first:
                    self._log("received", addr, self.addr, raw)
                else:
                    tail.append((addr, raw))
                actions = machine.packet_received(raw, addr)
                if log.tid is None:
                    log.tid = machine.peer
                if addr != machine.peer:
                    continue
                delivered = next((a for a in actions if isinstance(a, transfer.Deliver)), None)
                if delivered is None:
                    if any(isinstance(a, transfer.Send) and a.packet[:2] == b"\x00\x04" for a in actions):
                        log.repeats.append(index - 1)  # the machine would ACK it again: in bulk, it is not
                        continue
                    log.problem = Msg(N_("block {index} of the file: expected DATA #{want}, got {got}"),
                                      {"index": index, "want": tftp.block_number(index), "got": tftp.describe(raw)})
                    log.error = next((a.error for a in actions if isinstance(a, transfer.Fail)), None)
                    break
                log.content += delivered.data
                for action in actions:
                    if isinstance(action, transfer.Send):
                        sock.sendto(action.packet, action.addr)
                        if index <= log_first:
                            self._log("sent", self.addr, action.addr, action.packet)
                if machine.state == transfer.DONE:
                    log.complete = True
                    break
                if (index + 1) % 4096 == 0 and time.monotonic() > deadline:
                    log.problem = Msg(N_("budget: {budget:g} s were not enough; {index} blocks received"),
                                      {"budget": budget, "index": index + 1})
                    break
        finally:
            sock.setblocking(False)
        for addr, raw in tail:
            self._log("received", addr, self.addr, raw, note=Msg(N_("one of the last packets")))
        self.sandbox.evidence.note(Msg(N_("{label}: {count} DATA blocks in the bulk download ({size} bytes)"),
                                       {"label": self.label,
                                        "count": machine.blocks + 1 if not log.complete else machine.blocks,
                                        "size": len(log.content)}))
        return log

    # ------------------------------------------------------------ server role
    def serve(self, client: Addr, content: bytes, *, faults: Faults | None = None, step: float = 3.0,
              retransmit_wait: float = 6.0, strict: bool = True, also: list[TftpPeer] | None = None,
              done: Callable[[], bool] | None = None, echo_window: float = 0.0) -> Transfer:
        """Send ``content`` to ``client`` from this socket, one block per ACK.

        The transfer is a :class:`tftp_transfer.Sender` that never
        retransmits (``retries=0``): the peer waits ``step`` for each ACK and
        ``retransmit_wait`` after withholding a DATA, which it sends when the
        client shows it missed it (its ACK of the block before, again).
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
        log = Transfer(tid=client)
        socks = [self, *(also or [])]
        chunks = tftp.blocks(content)
        machine = transfer.Sender(client, chunks, timeout=step, retries=0)
        faults_ = FaultFilter(self, faults)
        faults_.send(machine.start()[0], fresh=True)
        since = time.monotonic()  # when the outstanding DATA was sent or withheld
        trigger: Received | None = None  # the packet that released the block being sent
        while True:
            index, block = machine.blocks + 1, machine.awaited
            previous = tftp.block_number(index - 1)
            held = faults_.held is not None
            final = index == len(chunks)
            wait = max(0.0, since + (retransmit_wait if held else step) - time.monotonic())
            r = _recv_any(socks, wait, stop=done if final else None)
            if held:
                gap = r.at - trigger.at if r is not None and trigger is not None else None
                echo = (gap is not None and gap < echo_window and r.raw == trigger.raw
                        and r.addr == trigger.addr and r.to == trigger.to)
                log.after_withheld.append(AfterWithheld(block, time.monotonic() - since, r, gap, echo))
                if echo:
                    log.acks.append(r)
                    continue
            if r is None:
                machine.timeout()  # retries=0: the end, never a retransmission
                if held:
                    log.problem = Msg(N_("after DATA #{block} was withheld, the client did not send ACK #{block_number} "
                                         "again within {retransmit_wait:g} s"),
                                      {"block": block, "block_number": previous, "retransmit_wait": retransmit_wait})
                elif final:
                    log.unacked_last = True
                    log.complete = True
                else:
                    log.problem = Msg(N_("no ACK #{block} within {wait:g} s"), {"block": block, "wait": step})
                break
            ours = r.addr == client and r.to == self.label  # the machine's own stream
            if r.addr[0] != client[0] or (strict and not ours):
                log.strays.append(r)
                continue
            log.acks.append(r)
            if isinstance(r.packet, tftp.Error):
                if ours:
                    machine.packet_received(r.raw, r.addr)  # the machine's end, never answered
                log.error = r.packet
                log.problem = Msg(N_("the client sent {got}"), {"got": r.describe()})
                break
            acked = r.packet.block if isinstance(r.packet, tftp.Ack) else None
            if not strict and len(r.raw) == 4:  # lenient: an ACK with a wrong opcode still names its block
                acked = int.from_bytes(r.raw[2:4], "big")
            if strict and held and acked == block:  # an ACK of a block it never got: not the machine's to take
                log.problem = Msg(N_("expected ACK #{block}; got {got}"),
                                  {"block": block, "got": r.wrong_opcode(tftp.ACK) or r.describe()})
                break
            late = acked is not None and acked in faults_.late_acks and acked != block
            again = acked is not None and index > 1 and acked == previous
            actions: list[transfer.Action] = []
            if strict:
                actions = machine.packet_received(r.raw, r.addr)
            elif not (late or again or held):
                actions = machine.packet_received(tftp.ack(block), client)  # lenient: any datagram is the ACK
            if machine.blocks == index - 1:  # the machine did not move on
                if late:
                    faults_.late_acks.discard(acked)  # the answer to the late copy: it moves nothing
                    continue
                if again:
                    log.repeats.append(acked)
                    if held:
                        faults_.release(Msg(N_("after the repeated ACK")))
                        since = time.monotonic()
                    continue  # a duplicate ACK: ignored, as RFC 1123 §4.2.3.1 says
                if not strict and held:  # anything else counts as the repeated ACK too
                    log.repeats.append(previous)
                    faults_.release(Msg(N_("after the client sent again")))
                    since = time.monotonic()
                    continue
                log.problem = Msg(N_("expected ACK #{block}; got {got}"),
                                  {"block": block, "got": r.wrong_opcode(tftp.ACK) or r.describe()})
                break
            trigger = r
            log.content += chunks[index - 1]
            if machine.state == transfer.DONE:
                log.complete = True
                break
            faults_.send(next(a for a in actions if isinstance(a, transfer.Send)), fresh=True)
            since = time.monotonic()
        self._flush_all(socks)
        return log

    def _flush_all(self, socks: list[TftpPeer]) -> None:
        for s in socks:
            s.flush_log()


def _not_data(r: Received, what: str | Msg) -> Msg:
    """Why ``r`` is not the DATA ``what`` the peer waits for, in a few words."""
    if r.wrong_opcode(tftp.DATA) and tftp.opcode_of(r.raw) != tftp.OACK:
        return Msg(N_("expected {what}; got {wrong_opcode}"), {"what": what, "wrong_opcode": r.wrong_opcode(tftp.DATA)})
    if r.packet is None:
        return Msg(N_("malformed packet instead of {what}: {why} ({hex})"),
                   {"what": what, "why": r.why, "hex": r.raw[:16].hex(" ")})
    return Msg(N_("expected {what}, got {got}"), {"what": what, "got": tftp.describe(r.packet)})


class FaultFilter:
    """:class:`Faults` as a filter on a transfer machine's Send actions (rule 11 of ``tftp_transfer``).

    The machine's fresh Send of a block's packet (DATA #n when serving, ACK #n
    when fetching) goes out as the faults say: a late copy of an earlier DATA
    before it, a stranger's datagram before it, a delay, withheld the first
    ``withholds(n)`` times, sent twice.  The machine's Send of the same packet
    again (its answer to a repeat) is withheld while that count lasts, else
    sent.  A withheld Send is ``held`` until it goes out: sent again by the
    machine, or released by the peer (serving: when the client shows that it
    missed the block).  An ERROR is never sent: the peer observes the program
    rather than answering it.  Every withheld packet is in the evidence.
    """

    def __init__(self, peer: TftpPeer, faults: Faults | None) -> None:
        self.peer = peer
        self.faults = faults or Faults()
        self.held: transfer.Send | None = None
        self.late_acks: set[int] = set()  # old blocks sent again late: an ACK naming one is its answer
        self._dropped: dict[int, int] = {}
        self._data: list[bytes] = []  # the DATA packets sent afresh, in order (for late copies)

    def withheld(self, block: int) -> int:
        """How many times our packet for ``block`` was withheld so far."""
        return self._dropped.get(block, 0)

    def send(self, action: transfer.Send, *, fresh: bool, note: Msg | str = "") -> bool:
        """Carry out the machine's ``action`` (``fresh``: its first Send of that packet); False when withheld."""
        packet, to = action.packet, action.addr
        opcode = tftp.opcode_of(packet)
        if opcode == tftp.ERROR:
            return False
        if opcode not in (tftp.DATA, tftp.ACK):
            self.peer.send(packet, to)
            return True
        block, faults = int.from_bytes(packet[2:4], "big"), self.faults
        if fresh:
            if opcode == tftp.DATA:
                self._data.append(packet)
                j = faults.late.get(len(self._data))
                if j is not None:
                    self.peer.send(self._data[j - 1], to,
                                   note=Msg(N_("DATA #{block_number} again, late (a copy the network delayed)"),
                                            {"block_number": j}))
                    self.late_acks.add(tftp.block_number(j))
            if block in faults.stranger:
                self.peer.stranger().send(faults.stranger[block], to, note=Msg(N_("from a wrong port")))
            if block in faults.delay:
                self.peer.sandbox.evidence.note(Msg(N_("{label} delays {packet} by {seconds} s"),
                                                    {"label": self.peer.label, "packet": tftp.describe(packet),
                                                     "seconds": f"{faults.delay[block]:g}"}))
                time.sleep(faults.delay[block])  # the delay is the shape of the traffic under test
        if self._withhold(packet, block):
            self.held = action
            return False
        self.held = None
        self.peer.send(packet, to, note=note)
        if fresh and block in faults.duplicate:
            self.peer.send(packet, to, note=Msg(N_("duplicate")))
        return True

    def release(self, note: Msg) -> None:
        """Send the withheld packet now."""
        action, self.held = self.held, None
        self.peer.send(action.packet, action.addr, note=note)

    def _withhold(self, packet: bytes, block: int) -> bool:
        """True (and logged) when our packet for ``block`` is to be withheld this time."""
        times = self.faults.withholds(block)
        if self._dropped.get(block, 0) >= times:
            return False
        self._dropped[block] = self._dropped.get(block, 0) + 1
        which = Msg(N_(" (time {time} of {times})"), {"time": self._dropped[block], "times": times}) \
            if times > 1 else ""
        self.peer.sandbox.evidence.add("dropped", who=self.peer.label, tftp=tftp.describe(packet),
                                       text=Msg(N_("withheld {packet} (a lost packet){which}"),
                                                {"packet": tftp.describe(packet), "which": which}))
        return True


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
