"""TFTP family: tftp-server and tftp-client (RFC 1350).

Sheet: "## TFTP" in course-pack.md (notes 001 §3.2; field notes
tftp-conformance.md).  Each check is one line of the sheet at the sheet's
level.  The grader's side is a scripted TFTP peer (harness/peers/tftp.py):
against the server it is a client that fetches files, against the client it
is a server on port 69 that answers from a new port.  Every packet is in the
evidence, decoded ("DATA #3 (512 B)") with its first bytes in hex.

Timers: a retransmission is awaited at most RETRANSMIT_BUDGET seconds
(students choose timeouts of 1-5 s); everything else waits ``step_s``, which a
correct program never comes near.  Where a line says "after a timeout", a copy
counts as a retransmission only when it arrives TIMER_GAP or more after the
copy before it (the kernel's arrival stamps): a program that sends every
packet twice at once has no timer for that.

Edges: every line is tried where it is easiest to get wrong (see
docs/sheet-audit.md, TFTP): the empty file and a multiple of 512, a Chinese
filename, a second transfer or run, an ERROR in the middle of a download, a
duplicate that comes late, a stranger on the client's own port number.

The server checks are run against tftpd-hpa too (tests/test_tftp_interop.py):
it passes every must check; the should checks where it differs from the sheet
(no ERROR 5 to a stranger, ERROR 1 for escaping names under its chroot,
silence for an unknown opcode) are listed there.  A retransmitted block that
arrives while a check holds an ACK back is taken as what it is, not as a
disturbance.  The client checks are run against tftp-hpa's and atftp's
clients there too, with a fixed filename and their own output name.

Frequent slips are named in the messages rather than left to a hex dump: a
wrong opcode says what it means and what belongs there (an RRQ sent as 2, an
ACK as 3, a server's DATA as 4); a final block never ACKed says which; a file
opened for append says so (see the tftp-client section).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from netgrade.checks import (
    Baseline,
    Faults,
    Found,
    Msg,
    N_,
    ProgramRun,
    Received,
    TftpPeer,
    Transfer,
    at,
    check,
    ended_note,
    exits_zero,
    fail,
    no_crash,
    read_capped,
    recv_any,
    scan,
    show_bytes,
    target_of,
    tftp,
    tftp_transfer,
)

RETRANSMIT_BUDGET = 6.0  # students' timers are 1-5 s
SA_WINDOW = 0.25  # a duplicate caused by a duplicate ACK leaves at once; a timer takes a second
# "after a timeout": a copy that arrives less than this after the copy before it was sent together
# with it (a program that sends every packet twice), not by a timer.  Measured by the kernel's
# arrival stamps; two back-to-back sends land microseconds apart (well under 0.1 s on a loaded
# grader), the shortest timer a correct program is known to use is 0.5 s (variants short_timeout).
TIMER_GAP = 0.25


def _binary(n: int) -> bytes:
    """Every byte value, CR/LF/NUL included, in an order no text conversion keeps."""
    return bytes(((i * 37) ^ (i >> 8)) & 0xFF for i in range(n))


def _text(n: int) -> bytes:
    line = "第{:04d}行 TFTP netgrade line\n"
    out = "".join(line.format(i) for i in range(n // 20 + 2)).encode()
    return out[:n]


def _ascii(n: int) -> bytes:
    return b"".join(b"line %04d of a plain ASCII file\n" % i for i in range(n // 30 + 2))[:n]


SIZES = {
    "empty.txt": b"",
    "one.txt": b"1",
    "s511.txt": _text(511),
    "s512.txt": _text(512),
    "s513.txt": _text(513),
    "multi.txt": _text(3000),
    "binary.bin": _binary(2600),
}
CLIENT_SIZES = ("empty.txt", "s511.txt", "s512.txt", "s513.txt", "multi.txt", "binary.bin")
FILES = {**SIZES, "hello.txt": "你好, TFTP!\n".encode() * 40, "story.txt": _ascii(2100).upper()}


def _sizes(log: Transfer) -> list[int]:
    return [len(r.packet.data) for r in log.data if isinstance(r.packet, tftp.Data)]


def _diff(got: bytes, want: bytes, size: int | None = None) -> Msg | str:
    """How ``got`` differs from ``want``: the sizes when they differ, else how many bytes, and always where.

    ``size``: the file's real size when only ``got`` was read of it.
    """
    real = len(got) if size is None else size
    if got == want and real == len(want):
        return Msg(N_("identical"))
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    where = (Msg(N_("first difference at byte {n} (block {block}): got {excerpt}, expected {excerpt2}"),
            {"n": n, "block": n // 512 + 1, "excerpt": _excerpt(got, n), "excerpt2": _excerpt(want, n)}))
    if real != len(want):
        return Msg(N_("{real} bytes instead of {n_want}; {where}"),
                {"real": real, "n_want": len(want), "where": where})
    if len(got) < real:
        return Msg(N_("the right size ({real} bytes), but only {n_got} could be read; {where}"),
                {"real": real, "n_got": len(got), "where": where})
    differ = sum(a != b for a, b in zip(got, want))
    if differ == 1:
        return Msg(N_("same size ({real} bytes) but other content: 1 byte differs; {where}"),
                   {"real": real, "where": where})
    return Msg(N_("same size ({real} bytes) but other content: {differ} bytes differ; {where}"),
               {"real": real, "differ": differ, "where": where})


def _excerpt(data: bytes, at: int, n: int = 12) -> Msg | str:
    """The bytes at ``at`` in hex, and as text when they are printable ASCII."""
    chunk = data[at:at + n]
    if not chunk:
        return "nothing"
    text = f' ("{chunk.decode("ascii")}")' if all(32 <= b < 127 and b != 34 for b in chunk) else ""
    return chunk.hex(" ") + text


def _error_code(r) -> int | None:
    """The code of an ERROR packet, read from the raw bytes (the NUL is the must line's business)."""
    if r is None or len(r.raw) < 4 or r.raw[:2] != b"\x00\x05":
        return None
    return int.from_bytes(r.raw[2:4], "big")


def _seen(r, want: int) -> Msg | str:
    """``r`` in a few words; when its opcode is not ``want``, what that opcode means instead."""
    return r.wrong_opcode(want) or r.describe()


def _outcome(log: Transfer, name: str, run) -> Msg | str:
    if log.error is not None:
        return Msg(N_("the server answered ERROR {code} {message}"),
                {"code": log.error.code, "message": repr(log.error.message)})
    if log.problem:
        return log.problem + ended_note(run)
    return ""


# ================================================================== tftp-server

class Download:
    """One client of the server under test, moved one block at a time (to interleave clients).

    The transfer is a machine (``tftp_transfer.Receiver``, no retransmissions of its own) whose ACKs the
    check sends when it chooses: ``receive()`` takes the next block, ``ack()`` sends its ACK."""

    def __init__(self, sandbox, run, name: str, label: str, step: float, host: str | None = None) -> None:
        self.peer = TftpPeer(sandbox, host=host, label=label)
        self.run, self.name, self.label, self.step = run, name, Msg(label), step  # a marked word: translated
        self.machine = tftp_transfer.Receiver(target_of(run.listener), tftp.rrq(name), timeout=step, retries=0,
                                              learn_peer=True)
        self.content = bytearray()
        self.done = False
        self._ack: tftp_transfer.Send | None = None  # the ACK of the block received last, until it is sent
        for action in self.machine.start():
            if isinstance(action, tftp_transfer.Send):
                self.peer.send(action.packet, action.addr)

    @property
    def tid(self) -> tuple[str, int] | None:
        return self.machine.peer

    def receive(self, what: str = "") -> tftp.Data:
        """The next DATA block of this transfer, or the check fails."""
        want = tftp.block_number(self.machine.blocks + 1)
        while True:
            r = self.peer.recv_packet(self.step, expect_from=Msg(N_("the server")))
            if r is None:
                fail(N_("{label} ({name}): expected DATA #{want} within {step:g} s{what}; got nothing{ended}"),
                     label=self.label, name=repr(self.name), want=want, step=self.step, what=what,
                     ended=ended_note(self.run))
            tid = self.machine.peer
            actions = self.machine.packet_received(r.raw, r.addr)
            if self.machine.peer is None:
                fail(N_("{label} ({name}): expected DATA #{want}{what} from the server's address {server}; got"
                        " {seen} from {host}"),
                     label=self.label, name=repr(self.name), want=want, what=what, server=self.machine.dest[0],
                     seen=_seen(r, tftp.DATA), host=r.addr[0])
            if r.addr != self.machine.peer:
                fail(N_("{label}: DATA came from port {port}, then from {port2}: a transfer keeps its port"),
                     label=self.label, port=r.addr[1], port2=tid[1])
            delivered = next((a for a in actions if isinstance(a, tftp_transfer.Deliver)), None)
            if delivered is not None:
                self._ack = next(a for a in actions if isinstance(a, tftp_transfer.Send))
                self.content += delivered.data
                return r.packet
            if not _repeat(r, self.machine.blocks):
                fail(N_("{label} ({name}): expected DATA #{want}{what}; got {seen}"),
                     label=self.label, name=repr(self.name), want=want, what=what, seen=_seen(r, tftp.DATA))
            # the previous block again: the server's timer fired while the check held its ACK back

    def ack(self, note: Msg | str = "") -> None:
        """Send the ACK of the block received last."""
        self.peer.send(self._ack.packet, self._ack.addr, note=note)
        self.done = self.machine.state == tftp_transfer.DONE

    def finish(self) -> bytes:
        while not self.done:
            self.receive()
            self.ack()
        return bytes(self.content)


def _repeat(r, index: int) -> bool:
    """Is ``r`` DATA block ``index`` again (a retransmission after the server's timeout)?"""
    return index >= 1 and isinstance(r.packet, tftp.Data) and r.packet.block == tftp.block_number(index)


def _fetch(sandbox, run, name: str, limits, label: str = "client", **kw) -> Transfer:
    peer = TftpPeer(sandbox, label=label)
    return peer.fetch(target_of(run.listener), name, step=limits.step_s, retransmit_wait=RETRANSMIT_BUDGET, **kw)


def _first_reply(sandbox, run, request: bytes, limits, label="client"):
    peer = TftpPeer(sandbox, label=label)
    peer.send(request, target_of(run.listener))
    r = peer.recv_packet(limits.step_s, expect_from=Msg(N_("the server")))
    return peer, r


SMALL = "one.txt"  # one block: a single ACK ends its transfer


@check("tftp-server", "must", "answers an RRQ from a new port (a new transfer ID), not from 69", id="new-port",
       sheet="001 §3.2; RFC 1350 §4",
       hint=N_("Create a new socket for each download and send the DATA from it; port 69 only takes requests."))
def test_tftp_server_new_port(sandbox, program, limits):
    """Sheet (tftp-server, must): "answers an RRQ (opcode 1) from a NEW port (a new transfer ID), never from
    port 69".  Sent: an RRQ for a one-block file, ACK #1 (the transfer ends), then a second RRQ.  Accepted:
    DATA #1 from a port other than 69, and the second download's DATA #1 from a port other than the
    first's (a new transfer ID per transfer; the kernel's ephemeral ports make a repeat all but
    impossible for a socket bound anew)."""
    run = program.start_server(files=FILES)
    peer, r = _first_reply(sandbox, run, tftp.rrq(SMALL), limits)
    if r is None:
        fail(N_("expected DATA #1 in reply to RRQ {small} within {step_s:g} s; got nothing{ended}"),
             small=repr(SMALL), step_s=limits.step_s, ended=ended_note(run))
    if r.addr[1] == run.listener.port:
        fail(N_("the reply ({got}) came from port {port} itself; a transfer must use a new socket, whose port is the "
                "server's transfer ID"),
             got=r.describe(), port=run.listener.port)
    if not isinstance(r.packet, tftp.Data) or r.packet.block != 1:
        fail(N_("expected DATA #1 from the new port {port}; got {seen}"),
             port=r.addr[1], seen=_seen(r, tftp.DATA))
    # "a NEW port" is per transfer: a second download, after the first ended, comes from another port
    # (an ephemeral port bound again, or a socket per transfer; one transfer socket made at start-up
    # answers every download from the same port).
    peer.send(tftp.ack(1), r.addr)
    second = _fetch(sandbox, run, SMALL, limits, label=Msg(N_("second client")))
    if second.tid is None:
        fail(N_("the first download ended; a second RRQ {small} got no DATA #1: {outcome}"),
             small=repr(SMALL), outcome=_outcome(second, SMALL, run) or Msg(N_("nothing came")))
    if second.tid[1] == run.listener.port:
        fail(N_("the second download came from port {port} itself; a transfer must use a new socket"),
             port=run.listener.port)
    if second.tid[1] == r.addr[1]:
        fail(N_("the second download came from port {port} again, the transfer port of the first: every transfer "
                "needs a new socket, whose new port is its transfer ID (RFC 1350 §4)"),
             port=r.addr[1])


@check("tftp-server", "must", "DATA blocks of 512 bytes numbered 1, 2, 3…, each after the previous ACK; "
       "the last shorter, empty for a multiple of 512", id="blocks", sheet="001 §3.2; RFC 1350 §5-6",
       hint=N_("Send block n+1 only after ACK n arrives; when the size is a multiple of 512 an empty block ends it."))
def test_tftp_server_blocks(sandbox, program, limits):
    """Sheet (tftp-server, must): 512-byte blocks numbered from 1, "a block is sent only after the
    previous block's ACK", the last shorter, empty for a multiple of 512.  Sent: RRQs for 1300 and
    1024 bytes; before each ACK the check watches 0.1 s for the next block (every block, the empty
    final one of the 1024-byte file included).  Accepted: the sizes exactly, nothing early."""
    run = program.start_server(files={"three.txt": _text(1300), "two.txt": _text(1024)})
    for name, sizes in (("three.txt", [512, 512, 276]), ("two.txt", [512, 512, 0])):
        log = _fetch(sandbox, run, name, limits, lockstep_window=0.1, lockstep_all=True)
        if log.early:
            which = (Msg(N_(" (the empty block that ends a file of a multiple of 512 bytes waits for its ACK too)"))
                     if sizes[-1] == 0 and log.early[0].startswith(f"DATA #{len(sizes)} ") else "")
            fail(N_("{name}: {early}: the server did not wait for the ACK (lock-step, RFC 1350 §2){which}"),
                 name=name, early=log.early[0], which=which)
        seen = _sizes(log)
        if log.error is not None or log.problem:
            hint = ""
            if sizes[-1] == 0 and seen == sizes[:-1]:
                hint = Msg(N_(" (the file is 1024 bytes, a multiple of 512: an empty DATA #3 must end it)"))
            fail(N_("{name}: block sizes {sizes} expected; saw {seen}, then {outcome}{hint}"),
                 name=name, sizes=sizes, seen=seen, outcome=_outcome(log, name, run), hint=hint)
        if seen != sizes:
            fail(N_("{name}: block sizes {sizes} expected; saw {seen}"),
                 name=name, sizes=sizes, seen=seen)


@check("tftp-server", "must", "the bytes received equal the file (0, 1, 511, 512, 513 bytes, multi-block, binary)",
       id="content",
       sheet="001 §3.2; RFC 1350 §5", hint=N_("Open the file in 'rb' and send f.read(512) per block, unchanged."))
def test_tftp_server_content(sandbox, program, limits):
    run = program.start_server(files=FILES)
    for name, want in SIZES.items():
        log = _fetch(sandbox, run, name, limits, label=Msg(N_("client for {name}"), {"name": name}))
        why = _outcome(log, name, run)
        if why:
            empty = (Msg(N_(" (an empty file is sent as one empty DATA #1: 0 is a multiple of 512 too)"))
                     if not want and not log.data else "")
            fail(N_("{name} ({n_want} bytes): {why}{empty}"),
                 name=name, n_want=len(want), why=why, empty=empty)
        if bytes(log.content) != want:
            fail(N_("{name}: {diff}"),
                 name=name, diff=_diff(bytes(log.content), want))


MISSING = "no_such_file.txt"
MISSING_ZH = "没有这个文件.txt"  # UTF-8 on the wire, as all text of the course


def _missing(sandbox, run, limits, name: str = MISSING):
    """The server's first answer to an RRQ for the missing ``name`` (an ERROR, or the check fails),
    and the peer that asked."""
    peer, r = _first_reply(sandbox, run, tftp.rrq(name), limits)
    if r is None:
        fail(N_("expected an ERROR packet for the missing file {name} within {step_s:g} s; got nothing{ended}"),
             name=repr(name), step_s=limits.step_s, ended=ended_note(run))
    if _error_code(r) is None:
        fail(N_("expected an ERROR packet (opcode 5) for the missing file {name}; got {got} ({hex})"),
             name=repr(name), got=r.describe(), hex=r.raw[:24].hex(' '))
    return peer, r


@check("tftp-server", "must", "a missing file gets an ERROR packet (opcode 5) with a NUL-terminated message",
       id="missing-file",
       sheet="001 §3.2; RFC 1350 §5", hint=N_("struct.pack('!HH', 5, 1) + message.encode() + b'\\x00'."))
def test_tftp_server_missing_file(sandbox, program, limits):
    """Sheet (tftp-server, must): "a request for a missing file gets an ERROR packet (opcode 5) with a
    NUL-terminated message".  Sent: an RRQ for a missing file.  Accepted: one datagram holding opcode 5,
    a code, a message (empty allowed) and its NUL; a message sent in a datagram of its own after a bare
    4-byte ERROR is not in the packet (the check looks 0.2 s for it, to say so)."""
    run = program.start_server(files=FILES)
    peer, r = _missing(sandbox, run, limits)
    raw = r.raw
    if len(raw) < 5 or not raw.endswith(b"\x00"):
        more = [x for x in peer.drain(0.2) if x.addr == r.addr]
        if len(raw) == 4 and more:
            fail(N_("the ERROR packet is only its opcode and code ({hex}); the message came in a second datagram "
                    "({bytes}): a UDP datagram is a whole packet, so opcode, code, message and NUL go in one sendto()"),
                 hex=raw.hex(' '), bytes=show_bytes(more[0].raw, 40))
        fail(N_("the ERROR packet's message must end with a NUL byte; got {bytes} ({hex})"),
             bytes=show_bytes(raw), hex=raw[:24].hex(' '))


@check("tftp-server", "should", "the error code for a missing file is 1 (File not found)", id="error-code",
       sheet="RFC 1350 appendix")
def test_tftp_server_error_code(sandbox, program, limits):
    """Sheet (tftp-server, should): "the error code for a missing file is 1 (File not found)".  Sent:
    RRQs for two missing files, one named in ASCII and one in Chinese (UTF-8, the course's text on the
    wire).  Accepted: an ERROR with code 1 for each."""
    run = program.start_server(files=FILES)
    for name in (MISSING, MISSING_ZH):
        _, r = _missing(sandbox, run, limits, name)
        code = _error_code(r)
        if code != 1:
            why = ""
            if name == MISSING_ZH:
                why = (Msg(N_("; the name is UTF-8 ({hex}), as all text of the course: decode it with 'utf-8' (a "
                            "missing file is still code 1 whatever its name)"),
                        {"hex": name.encode().hex(' ')}))
            fail(N_("RRQ {name} (a missing file): expected error code 1 (File not found); got {code} ({got}){why}"),
                 name=repr(name), code=code, got=r.describe(), why=why)


@check("tftp-server", "should", "the mode is matched case-insensitively (OCTET)", id="mode-case", sheet="RFC 1350 §5",
       hint=N_("Compare mode.lower() == 'octet'."))
def test_tftp_server_mode_case(sandbox, program, limits):
    """Sheet (tftp-server, should): "the mode is matched case-insensitively (OCTET)".  Sent: RRQs in
    mode 'OCTET' and 'Octet' (case-insensitive is every spelling, not a list of two).  Accepted: both
    downloads whole."""
    run = program.start_server(files=FILES)
    for mode in ("OCTET", "Octet"):
        log = _fetch(sandbox, run, "hello.txt", limits, mode=mode)
        why = _outcome(log, "hello.txt", run)
        if why:
            other = Msg(N_(" ('OCTET' was served: the mode is compared with a list of spellings, not with mode.lower())")) \
                if mode != "OCTET" else ""
            fail(N_("RRQ 'hello.txt' in mode {mode}: {why}{other}"),
                 mode=repr(mode), why=why, other=other)
        if bytes(log.content) != FILES["hello.txt"]:
            fail(N_("RRQ in mode {mode}: {diff}"),
                 mode=repr(mode), diff=_diff(bytes(log.content), FILES['hello.txt']))


@check("tftp-server", "should", "a lost ACK makes the server send the block again after a timeout", id="retransmit",
       sheet="RFC 1350 §2; RFC 1123 §4.2.3.2",
       hint=N_("settimeout() on the transfer socket; on timeout send the same DATA again (a few times at most)."))
def test_tftp_server_retransmit(sandbox, program, limits):
    """Sheet (tftp-server, should): "a lost ACK makes the server send the block again after a timeout".
    Sent: a download of multi.txt whose ACK #2 the check withholds twice (the ACK of the first
    retransmission is lost too).  Accepted: DATA #2 again after each loss, each copy at least
    TIMER_GAP s after the one before (a copy sent together with the first is no timer's work), each
    within RETRANSMIT_BUDGET s; then the file whole."""
    run = program.start_server(files=FILES)
    log = _fetch(sandbox, run, "multi.txt", limits, faults=Faults(drop={2}, drop_times={2: 2}),
                 echo_window=TIMER_GAP)
    if not any(isinstance(r.packet, tftp.Data) and r.packet.block == 2 for r in log.data):
        fail(N_("multi.txt: the download failed before DATA #2, whose ACK the check withholds: {outcome}"),
             outcome=_outcome(log, "multi.txt", run))
    gaps = [g for b, g in log.repeat_gaps if b == 2]
    echoes = [g for b, g in log.echoes if b == 2]
    twice = (Msg(N_(" (DATA #2 also came {n_echoes} time(s) within {timer_gap:g} s of the copy before: sent together "
                "with it, before any timer, which does not count)"),
            {"n_echoes": len(echoes), "timer_gap": TIMER_GAP})) if echoes else ""
    if not gaps:
        fail(N_("ACK #2 was withheld; expected DATA #2 again after a timeout, within {retransmit_budget:g} s: "
                "{outcome}{twice}"),
             retransmit_budget=RETRANSMIT_BUDGET,
             outcome=_outcome(log, "multi.txt", run) or Msg(N_("it never came")), twice=twice)
    if len(gaps) < 2:
        fail(N_("ACK #2 was withheld, and withheld again when DATA #2 came again {gaps:.2f} s later; expected DATA "
                "#2 a third time within {retransmit_budget:g} s: it was sent again once only (a lost ACK makes the "
                "block go again after every timeout, a few times, not once){twice}"),
             gaps=gaps[0], retransmit_budget=RETRANSMIT_BUDGET, twice=twice)
    why = _outcome(log, "multi.txt", run)
    if why or bytes(log.content) != FILES["multi.txt"]:
        fail(N_("after the retransmissions the transfer did not end right: {why}"),
             why=why or _diff(bytes(log.content), FILES["multi.txt"]))


@check("tftp-server", "should", "a duplicated ACK does not send the next block twice (Sorcerer's Apprentice)",
       id="duplicate-ack",
       sheet="RFC 1123 §4.2.3.1", hint=N_("On an ACK for an older block, do nothing; only a timeout sends again."))
def test_tftp_server_duplicate_ack(sandbox, program, limits):
    """Sheet (tftp-server, should): "a duplicated ACK does not make it send the next block twice".
    Sent: ACK #1 twice back to back; later ACK #2, and its copy only after DATA #3 has arrived (a
    duplicate the network delayed: it meets a server already waiting for ACK #3).  Accepted: after
    each copy, nothing from the server within SA_WINDOW s."""
    run = program.start_server(files=FILES)
    d = Download(sandbox, run, "multi.txt", N_("client"), limits.step_s)
    d.receive()
    d.ack()
    d.peer.send(tftp.ack(1), d.tid, note=Msg(N_("duplicate")))
    d.receive(Msg(N_(" after ACK #1 (sent twice)")))
    extra = [r for r in d.peer.drain(SA_WINDOW) if r.addr == d.tid]
    if extra:
        fail(N_("after ACK #1 came twice, the server sent DATA #2 and then {got} at once, without ACK #2: a "
                "duplicate ACK must be ignored"),
             got=extra[0].describe())
    d.ack()
    d.receive(Msg(N_(" after ACK #2")))
    d.peer.send(tftp.ack(2), d.tid, note=Msg(N_("a late duplicate (after DATA #3 came)")))
    extra = [r for r in d.peer.drain(SA_WINDOW) if r.addr == d.tid]
    if extra:
        fail(N_("ACK #2 came again late, after DATA #3 had been sent; the server answered it with {got} at once, "
                "without ACK #3: an old ACK must be ignored whenever it comes (emptying the socket right after each "
                "ACK only catches the copies that arrive together)"),
             got=extra[0].describe())
    d.ack()
    got = d.finish()
    if got != FILES["multi.txt"]:
        fail(N_("after a duplicate ACK the file arrived wrong: {diff}"),
             diff=_diff(got, FILES['multi.txt']))


SAME_PORT_HOST = "127.0.0.2"  # loopback: another address for a stranger with the client's own port number


def _same_port_stranger(sandbox, d: Download) -> TftpPeer | None:
    """A stranger on another loopback address with the client's port number (None: it cannot bind)."""
    try:
        return TftpPeer(sandbox, d.peer.port, host=SAME_PORT_HOST, label=Msg(N_("stranger (the client's port, address {address})"),
                                                                        {"address": SAME_PORT_HOST}))
    except OSError as exc:
        sandbox.evidence.note(Msg(N_("no stranger on {address} ({error}): the same-port case is left out"),
                                  {"address": f"{SAME_PORT_HOST}:{d.peer.port}", "error": str(exc.strerror or exc)}))
        return None


@check("tftp-server", "should", "a packet from a wrong port gets ERROR 5 and does not disturb the transfer",
       id="wrong-port",
       sheet="RFC 1350 §4", hint=N_("Compare recvfrom()'s address with the client's; answer others with ERROR 5."))
def test_tftp_server_wrong_port(sandbox, program, limits):
    """Sheet (tftp-server, should): "a packet from a wrong port gets ERROR code 5 and does not disturb the
    transfer".  Sent, while the server waits for ACK #2: ACK #2 from another port, then ACK #2 from the
    client's own port number on another address (a transfer ID is the pair).  Accepted: neither moves
    the transfer on (DATA #2 again is the server's timer), each gets ERROR 5, the file arrives whole."""
    run = program.start_server(files=FILES)
    d = Download(sandbox, run, "multi.txt", N_("client"), limits.step_s, host="127.0.0.1")
    d.receive()
    d.ack()
    d.receive()
    stranger = d.peer.stranger()
    stranger.send(tftp.ack(2), d.tid, note=Msg(N_("ACK #2 from a wrong port")))
    r = stranger.recv_packet(limits.step_s, expect_from=Msg(N_("the server (to the stranger)")))
    # DATA #2 again is the server's timer (the check holds ACK #2 back meanwhile); anything else means
    # the stranger's ACK was taken for the client's
    disturbed = [x for x in d.peer.drain(0.05) if x.addr == d.tid and not _repeat(x, 2)]
    if disturbed:
        fail(N_("an ACK #2 from another port (the stranger) moved the transfer on: the client got {got} before it "
                "sent ACK #2"),
             got=disturbed[0].describe())
    twin = _same_port_stranger(sandbox, d)
    r2 = None
    if twin is not None:
        twin.send(tftp.ack(2), d.tid, note=Msg(N_("ACK #2 from the client's port number, another address")))
        r2 = twin.recv_packet(limits.step_s, expect_from=Msg(N_("the server (to the stranger)")))
        disturbed = [x for x in d.peer.drain(0.05) if x.addr == d.tid and not _repeat(x, 2)]
        if disturbed:
            fail(N_("an ACK #2 from {host}:{port}, the client's own port number on another address, moved "
                    "the transfer on: the client got {got} before it sent ACK #2; a transfer ID is the address and "
                    "the port together (compare the whole (ip, port) pair recvfrom() returns)"),
                 host=SAME_PORT_HOST, port=twin.port, got=disturbed[0].describe())
    d.ack()
    got = d.finish()
    if got != FILES["multi.txt"]:
        fail(N_("after the stray packet the file arrived wrong: {diff}"),
             diff=_diff(got, FILES['multi.txt']))
    if r is None:
        fail(N_("the transfer went on undisturbed, but the packet from the wrong port got no answer: expected ERROR "
                "5 (Unknown transfer ID){ended}"),
             ended=ended_note(run))
    if _error_code(r) != 5:
        fail(N_("expected ERROR 5 (Unknown transfer ID) for the packet from the wrong port; got {got}"),
             got=r.describe())
    if twin is not None and _error_code(r2) != 5:
        fail(N_("expected ERROR 5 (Unknown transfer ID) for the packet from {host}:{port} (the client's "
                "port number, another address); got {got}"),
             host=SAME_PORT_HOST, port=twin.port,
             got=r2.describe() if r2 else Msg(N_("nothing")))


@check("tftp-server", "should", "two clients downloading at once both get correct files", id="two-clients",
       sheet="RFC 1350 §4",
       hint=N_("Serve each request in its own thread with its own socket."))
def test_tftp_server_two_clients(sandbox, program, limits):
    run = program.start_server(files=FILES)
    a = Download(sandbox, run, "multi.txt", N_("client A"), limits.step_s)
    a.receive()
    b = Download(sandbox, run, "story.txt", N_("client B"), limits.step_s)
    b.receive(Msg(N_(" while client A's transfer is still open")))
    while not (a.done and b.done):
        for d in (a, b):
            if not d.done:
                d.ack()
                if not d.done:
                    d.receive()
    for d, name in ((a, "multi.txt"), (b, "story.txt")):
        if bytes(d.content) != FILES[name]:
            fail(N_("{label} ({name}): {diff}"),
                 label=d.label, name=name, diff=_diff(bytes(d.content), FILES[name]))


ESCAPES = ("../../../../../../../../../../etc/passwd", "/etc/passwd", "sub/../../../../../../../../../etc/passwd")


@check("tftp-server", "should", "a filename with .. or an absolute path is refused (ERROR 2), nothing outside served",
       id="path-safety",
       sheet="RFC 1350 §8; RFC 1123 §4.2.3.4",
       hint=N_("os.path.realpath() the joined path and check it is still inside the served folder."))
def test_tftp_server_path_safety(sandbox, program, limits):
    run = program.start_server(files=FILES)
    for name in ESCAPES:
        _, r = _first_reply(sandbox, run, tftp.rrq(name), limits)
        if r is None:
            fail(N_("RRQ {name}: expected ERROR 2 (access violation); got nothing{ended}"),
                 name=repr(name), ended=ended_note(run))
        if isinstance(r.packet, tftp.Data):
            fail(N_("RRQ {name} was served: {got} starting {bytes}; files outside the served folder must be refused"),
                 name=repr(name), got=r.describe(), bytes=show_bytes(r.packet.data, 40))
        if _error_code(r) != 2:
            fail(N_("RRQ {name}: expected ERROR 2 (access violation); got {got}"),
                 name=repr(name), got=r.describe())


MALFORMED = (
    (b"\x00\x01", N_("an RRQ with nothing after the opcode")),
    (b"\x00\x01hello.txt", N_("an RRQ without NUL after the filename")),
    (b"\x00\x01hello.txt\x00", N_("an RRQ without a mode")),
    (b"\x00\x09hello.txt\x00octet\x00", N_("a request with the unknown opcode 9")),
    (b"\x00\x01\xff\xfe\xe4.txt\x00octet\x00", N_("an RRQ whose filename is not UTF-8")),
)


@check("tftp-server", "should", "a malformed request gets an ERROR, never a crash", id="malformed", sheet="RFC 1350 §5",
       hint=N_("Parse inside try/except; answer what cannot be parsed with ERROR 4 and keep serving."))
def test_tftp_server_malformed(sandbox, program, limits):
    run = program.start_server(files=FILES)
    for raw, what in MALFORMED:
        _, r = _first_reply(sandbox, run, raw, limits, label="prober")
        if r is None:
            state = Msg(N_("it crashed: {crash}"),
                    {"crash": run.crash_summary()}) if not run.running else Msg(N_("it sent nothing"))
            fail(N_("{what} ({hex}): expected an ERROR packet; {state}"),
                 what=Msg(what), hex=raw.hex(' '), state=state)
        if _error_code(r) is None:
            fail(N_("{what} ({hex}): expected an ERROR packet; got {got}"),
                 what=Msg(what), hex=raw.hex(' '), got=r.describe())
    no_crash(run, Msg(N_("after malformed requests")))
    log = _fetch(sandbox, run, "hello.txt", limits)
    if log.error is not None or log.problem or bytes(log.content) != FILES["hello.txt"]:
        fail(N_("after the malformed requests a normal RRQ failed: {outcome}"),
             outcome=_outcome(log, "hello.txt", run) or _diff(bytes(log.content), FILES["hello.txt"]))


# ------------------------------------------------------------------ server extras

@check("tftp-server", "extra", "write requests (WRQ, upload) are stored", id="upload", sheet="RFC 1350 §4-5")
def test_tftp_server_upload(sandbox, program, limits):
    run = program.start_server(files=FILES)
    content = _binary(1300)
    peer = TftpPeer(sandbox, label="uploader")
    peer.send(tftp.wrq("uploaded.bin"), target_of(run.listener))
    r = peer.recv_packet(limits.step_s, expect_from=Msg(N_("the server")))
    if r is None or not isinstance(r.packet, tftp.Ack) or r.packet.block != 0:
        fail(N_("expected ACK #0 in reply to WRQ 'uploaded.bin'; got {got}"),
             got=r.describe() if r else Msg(N_("nothing")))
    if r.addr[1] == run.listener.port:
        fail(N_("ACK #0 came from port {port} itself; a transfer must use a new port"),
             port=run.listener.port)
    tid = r.addr
    for index, chunk in enumerate(tftp.blocks(content), start=1):
        peer.send(tftp.data(index, chunk), tid)
        r = peer.recv_packet(limits.step_s, expect_from=Msg(N_("the server")))
        if r is None or not isinstance(r.packet, tftp.Ack) or r.packet.block != index:
            fail(N_("expected ACK #{index} for DATA #{index}; got {got}"),
                 index=index, got=r.describe() if r else Msg(N_("nothing")))
    for _ in range(2):  # the server may rename or close the file just after the last ACK
        # never through a link the server left there, never more than the upload and a margin
        got, size, why = read_capped(run.work, "uploaded.bin", len(content) + 4096)
        if got == content:
            return
        run.wait_exit(0.1)
    if got is None:
        fail(N_("after the upload the server's folder holds no readable 'uploaded.bin': it {why}"),
             why=why)
    fail(N_("the uploaded file differs: {diff}"),
         diff=_diff(got, content, size))


@check("tftp-server", "extra", "netascii mode: LF → CR LF, CR → CR NUL", id="netascii",
       sheet="RFC 1350 §5; RFC 1123 §4.2.4")
def test_tftp_server_netascii(sandbox, program, limits):
    local = b"line one\nline two\rbare\n" * 30
    run = program.start_server(files={"text.txt": local})
    log = _fetch(sandbox, run, "text.txt", limits, mode="netascii")
    why = _outcome(log, "text.txt", run)
    if why:
        fail(N_("RRQ 'text.txt' in mode netascii: {why}"),
             why=why)
    want = tftp.to_netascii(local)
    if bytes(log.content) != want:
        fail(N_("netascii: {diff}"),
             diff=_diff(bytes(log.content), want))


@check("tftp-server", "extra", "files over 65535 blocks: the block number wraps to 0", id="block-wrap",
       sheet="RFC 1350 §5 (practice)")
def test_tftp_server_block_wrap(sandbox, program, limits):
    size = 65536 * 512 + 100
    content = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    run = program.start_server(files={"big.bin": content})
    peer = TftpPeer(sandbox, label="client")
    budget = max(5.0, limits.check_s - 12.0)  # lock-step is round-trip bound: ~6 s here when idle
    log = peer.fetch_bulk(target_of(run.listener), "big.bin", step=limits.step_s, budget=budget)
    if log.problem.startswith("budget"):
        pytest.skip(f"not measured: {log.problem} (the machine is too busy or the server too slow to send "
                    "65537 blocks within the check's time)")
    why = _outcome(log, "big.bin", run)
    if why:
        fail(N_("a {size}-byte file (65537 blocks): {why}"),
             size=size, why=why)
    if len(log.content) != size or bytes(log.content) != content:
        fail(N_("a {size}-byte file: {diff}"),
             size=size, diff=_diff(bytes(log.content), content))


@check("tftp-server", "extra", "options blksize, tsize, timeout answered with an OACK", id="options",
       sheet="RFC 2347/2348/2349")
def test_tftp_server_options(sandbox, program, limits):
    content = _binary(3000)
    run = program.start_server(files={"opt.bin": content})
    asked = {"blksize": "1024", "tsize": "0", "timeout": "2"}
    log = _fetch(sandbox, run, "opt.bin", limits, options=asked, blksize=tftp.BLOCK_SIZE)
    if log.oack is None:
        why = _outcome(log, "opt.bin", run)
        fail(N_("expected an OACK for the options blksize=1024 tsize=0 timeout=2; {instead}"),
             instead=Msg(N_("instead: {why}"),
                    {"why": why}) if why else Msg(N_("got DATA #1 of {size} bytes (options ignored)"),
                    {"size": (_sizes(log) or [0])[0]}))
    want = {"blksize": "1024", "tsize": str(len(content)), "timeout": "2"}
    if log.oack.options != want:
        fail(N_("OACK: expected {want}; got {options}"),
             want=want, options=log.oack.options)
    why = _outcome(log, "opt.bin", run)
    if why or _sizes(log) != [1024, 1024, 952] or bytes(log.content) != content:
        fail(N_("after the OACK: expected blocks [1024, 1024, 952]; saw {sizes} {why}"),
             sizes=_sizes(log), why=why)


@check("tftp-server", "extra", "interop: the reference client downloads a file", id="with-reference", sheet="001 §3.2")
def test_tftp_server_with_reference(sandbox, program, reference, limits):
    run = program.start_server(files=FILES)
    client = reference.start("tftp-client", stdin="binary.bin", args=at(run))
    code = client.wait_exit(limits.step_s * 2)
    saved, _, why = read_capped(client.work, "client_binary.bin", len(FILES["binary.bin"]) + 4096)
    if code != 0 or saved is None:
        fail(N_("the reference client did not download 'binary.bin': {crash}; it printed {bytes}"),
             crash=client.crash_summary(), bytes=show_bytes(client.out.encode(), 200))
    if saved != FILES["binary.bin"]:
        fail(N_("the reference client saved a different file: {diff}"),
             diff=_diff(saved, FILES['binary.bin']))


# ================================================================== tftp-client
#
# Real clients rarely follow the sheet to the letter: many ask for a filename
# fixed in the program, and many save under a name of their own ("test.txt",
# "new_" + name).  Each such deviation costs its own check and nothing else:
#
# - the grader's server answers whatever name the client asks for, with the
#   content of the size under test (the check decides the bytes, not the name);
#   the name asked for is judged by the rrq check (the sheet's "the filename"
#   is the one typed on stdin);
# - the saved file is whatever the client created or changed in its work folder
#   (harness/savedfiles.py: no link is followed, no more than the expected
#   size and a margin is read); the content checks grade that file;
# - the sheet's name client_<filename> is the saved-name check.  Its level is
#   the sheet's: "the saved file equals the served file" is a must line and the
#   sheet says the download is saved as client_<filename>; like the port check,
#   one wrong constant costs this one check (an instructor may lower it:
#   ``[checks."tftp-client/saved-name"] level = "should"``).  A client that
#   asks for a fixed name and saves it as client_<that name> is not blamed
#   twice: the rrq check already reports the name.
# - the ACK checks judge the ACK's bytes; elsewhere any reply naming the block
#   moves the transfer on, so a wrong ACK opcode costs the acks check alone.

NAME = "hello.txt"
# The last size of the content check is downloaded where a stale copy of the
# file already lies (a student's own second run): under the name the client
# saved the previous size as, with that size's name swapped for this one.  It
# holds more bytes than the download, so appending ('ab') and writing over it
# without truncating ('r+b') both show.  No extra run is needed for it.
STALE = b"stale bytes of an earlier download\n" * 120
STALE_OVER = "binary.bin"


@dataclass
class ClientRun:
    """One run of the client under test: its request on port 69 and what it left in its folder."""

    run: ProgramRun
    listen: TftpPeer
    request: Received  # the first datagram on port 69
    baseline: Baseline
    typed: str  # the filename written to its stdin
    prefix: str  # the sheet's prefix of the saved name
    log: Transfer | None = None
    tid: TftpPeer | None = None

    @property
    def requested(self) -> str | None:
        """The filename in the request, as far as it can be read (None: no NUL-terminated name)."""
        parts = self.request.raw[2:].split(b"\0")
        if len(parts) < 2 or not parts[0]:
            return None
        return parts[0].decode("utf-8", "surrogateescape")

    def sheet_names(self) -> list[str]:
        """client_<the name asked for>, and client_<the name typed> when they differ."""
        names = [self.prefix + n for n in (self.requested, self.typed) if n]
        return list(dict.fromkeys(names))

    def saved(self, want: bytes | None) -> Found | None:
        found = self.baseline.find(prefer=self.sheet_names(), want=want)
        _note_saved(self.run, found)
        return found


def _note_saved(run: ProgramRun, found: Found | None) -> None:
    """Say in the evidence which file was taken for the download, and what else changed."""
    if found is None:
        run.evidence.note(Msg(N_("{label}: no file was created or changed in its folder"), {"label": run.label}))
        return
    others = Msg(N_("; also changed: {join}"),
            {"join": ', '.join(map(repr, found.others[:5]))}) if found.others else ""
    run.evidence.note(Msg(N_("{label}: the saved file is {file}{others}"),
                          {"label": run.label, "file": found.describe(), "others": others}))


def _settle(run, limit: float = 0.5) -> int:
    """Let the prompt reach us, so that what follows is the program's answer to the next packet."""
    total = run.stdout.total
    waited = 0.0
    while waited < limit and run.wait_output_growth(0.05, total):
        total = run.stdout.total
        waited += 0.05
    return total


def _expect_rrq(sandbox, program, limits, name: str, files: dict[str, bytes] | None = None) -> ClientRun:
    """Start the client with ``name`` on stdin; its first datagram to port 69 is taken as its request,
    whatever it holds (its layout is the rrq check's business; the other checks serve it anyway)."""
    listen = TftpPeer(sandbox, program.port, label=f"server :{program.port}")
    run = program.start(stdin=name, files=files)
    baseline = Baseline.of_run(run, Path(program.root, program.located.cwd), files)
    r = listen.recv_packet(limits.step_s, expect_from=Msg(N_("the client")))
    if r is None:
        fail(N_("expected an RRQ on UDP port {port} within {step_s:g} s after the filename; got nothing{ended}"),
             port=program.port, step_s=limits.step_s, ended=ended_note(run))
    prefix = program.spec.expect.get("saved_prefix", "client_")
    return ClientRun(run, listen, r, baseline, name, prefix)


def _serve_client(sandbox, program, limits, name: str, content: bytes, faults: Faults | None = None,
                  strict: bool = False, files: dict[str, bytes] | None = None,
                  echo_window: float = 0.0) -> ClientRun:
    """Answer the client's request, for whatever name, with ``content``."""
    c = _expect_rrq(sandbox, program, limits, name, files)
    c.tid = TftpPeer(sandbox, label="server TID")
    c.log = c.tid.serve(c.request.addr, content, faults=faults, step=limits.step_s,
                        retransmit_wait=RETRANSMIT_BUDGET, strict=strict, also=[c.listen],
                        done=lambda: not c.run.running, echo_window=echo_window)
    c.run.wait_exit(limits.step_s)
    return c


def _saved_bytes(c: ClientRun, want: bytes) -> tuple[bytes | None, Msg | str]:
    """(the saved bytes, words naming the file) or (None, why there are none).

    A file larger than ``want`` and the margin is read only that far: it
    differs from ``want`` all the same, and the words give its real size.
    """
    found = c.saved(want)
    if found is None:
        return None, Msg(N_("no file was saved in the client's folder"))
    label = found.name if found.name in c.sheet_names() else Msg(N_("the saved file {found_name}"),
            {"found_name": repr(found.name)})
    if found.data is None:
        return None, Msg(N_("the file the client left is {got}"), {"got": found.describe()})
    if found.truncated:
        label += Msg(N_(" ({size} bytes, read as far as {read})"), {"size": found.size, "read": len(found.data)})
    return found.data, label


def _rrq_fault(c: ClientRun, name: str) -> Msg | str:
    """"" when the request is exactly the RRQ for ``name``; else what is wrong with it, in words."""
    raw, want = c.request.raw, tftp.rrq(name)
    if raw == want:
        return ""
    fault = tftp.opcode_fault(raw, tftp.RRQ)
    if fault:
        return (Msg(N_("the request carries {fault}: {hex} ({got}); expected {hex2}"),
                {"fault": fault, "hex": raw[:24].hex(' '), "got": c.request.describe(), "hex2": want.hex(' ')}))
    encoded = name.encode("utf-8")
    field = raw[2:].split(b"\0")[0]
    if field != encoded and encoded.startswith(field) and len(field) == len(name) < len(encoded):
        return (Msg(N_("for the filename {name} ({n_name} characters, {n_encoded} UTF-8 bytes) the RRQ carries only the "
                    "first {n_field} bytes of the name ({hex}): the number of characters was used as the number of "
                    "bytes ('%ds' % len(name)); encode first, then count: b = name.encode('utf-8'), '%ds' % len(b)"),
                {"name": repr(name), "n_name": len(name), "n_encoded": len(encoded), "n_field": len(field),
                 "hex": field.hex(' ')}))
    asked = c.requested
    if asked is not None and asked != name and raw == tftp.rrq(asked):
        return (Msg(N_("the RRQ asks for {asked}; the filename typed on stdin was {name}: the name is fixed in the "
                    "program instead of read from input()"),
                {"asked": repr(asked), "name": repr(name)}))
    return Msg(N_("expected the RRQ {hex} ({got}); got {hex2} ({got2})"),
            {"hex": want.hex(' '), "got": tftp.describe(want), "hex2": raw.hex(' '), "got2": c.request.describe()})


NAME_ZH = "测试文件.txt"  # 8 characters, 16 bytes of UTF-8


@check("tftp-client", "must", "the RRQ is opcode 1, the filename, NUL, 'octet', NUL", id="rrq",
       sheet="001 §3.2.3; RFC 1350 §5",
       hint=N_("struct.pack('!H', 1) + name.encode() + b'\\x00' + b'octet' + b'\\x00', with the name read by input()."))
def test_tftp_client_rrq(sandbox, program, limits):
    """Sheet (tftp-client, must): "the RRQ is exactly opcode 1, the filename, a NUL byte, octet, a NUL
    byte".  Typed: 'hello.txt', then in a second run a Chinese filename (UTF-8 on the wire, as all text
    of the course).  Accepted: exactly tftp.rrq(name) for each."""
    for name in (NAME, NAME_ZH):
        c = _expect_rrq(sandbox, program, limits, name)
        c.run.kill()  # its retries must not meet the next run's listener
        c.listen.sock.close()
        why = _rrq_fault(c, name)
        if why:
            fail(why)


@check("tftp-client", "must", "every DATA block is ACKed (the last included), with ACK n to the server's new port",
       id="acks",
       sheet="001 §3.2.3; RFC 1350 §4-6",
       hint=N_("After each DATA, sendto(struct.pack('!HH', 4, block), addr) with the addr the DATA came from; "
               "the short last block too, before the loop ends."))
def test_tftp_client_acks(sandbox, program, limits):
    content = _binary(1024)  # 512 + 512 + an empty final block
    c = _serve_client(sandbox, program, limits, "acks.bin", content, strict=True)
    log, tid = c.log, c.tid
    to69 = [s for s in log.strays if s.to != tid.label]
    if to69:
        last = len(tftp.blocks(content))
        right = [a for a in log.acks if isinstance(a.packet, tftp.Ack)]
        only = ""
        if (isinstance(to69[0].packet, tftp.Ack) and to69[0].packet.block == last and right
                and all(isinstance(s.packet, tftp.Ack) and s.packet.block == last for s in to69)):
            only = (Msg(N_(" (the last block's ACK; ACK #1 to #{last} went to the transfer port: the final ACK after "
                        "the loop was sent to the server's first address, not to the DATA's)"),
                    {"last": last - 1}))
        fail(N_("the client sent {got} to port {port}{only}; ACKs go to the port the DATA came from ({port2})"),
             got=to69[0].describe(), port=program.port, only=only, port2=tid.port)
    if log.strays:
        s = log.strays[0]
        fail(N_("{got} came from port {port}, not from the port of the RRQ ({port2})"),
             got=s.describe(), port=s.addr[1], port2=log.tid[1])
    if log.problem:
        got = log.acks[-1] if log.acks else None
        raw = Msg(N_(" ({hex})"),
                {"hex": got.raw.hex(' ')}) if got else ""
        fail(N_("{problem}{raw}; an ACK is exactly 00 04 and the 2-byte block number{ended}"),
             problem=log.problem, raw=raw, ended=ended_note(c.run))
    if log.unacked_last:
        chunks = tftp.blocks(content)
        fail(N_("the final block #{n_chunks} ({n_chunks2} bytes, shorter than 512) was never ACKed: the server "
                "cannot know the transfer ended (RFC 1350 §6: the last block is acknowledged too)"),
             n_chunks=len(chunks), n_chunks2=len(chunks[-1]))


def _stale_copy(got: bytes | None, want: bytes) -> Msg | str:
    """What a download over a stale copy of the file did wrong, in words ("" if nothing recognisable)."""
    if got == STALE + want:
        return (Msg(N_("the file grew to {n_stale}+{n_want} = {n_got} bytes, the old content followed by the new: it "
                    "was opened in append mode ('ab'), not 'wb'"),
                {"n_stale": len(STALE), "n_want": len(want), "n_got": len(got)}))
    if got is not None and len(got) == len(STALE) and got[:len(want)] == want:
        return (Msg(N_("the new {n_want} bytes were written over the start of the old {n_stale}, whose rest stayed: the "
                    "file was opened without truncating it ('r+b'), not 'wb'"),
                {"n_want": len(want), "n_stale": len(STALE)}))
    return ""


@check("tftp-client", "must", "the saved file equals the served file (0, 511, 512, 513 bytes, multi, binary "
       "over a stale copy) and the client exits 0", id="content", sheet="001 §3.2.3",
       hint=N_("Open the file in 'wb' (never 'ab'), write each block's data[4:], stop after a block shorter than 512."))
def test_tftp_client_content(sandbox, program, limits):
    before: tuple[str, str] | None = None  # (the name typed, the name saved) of the previous size
    for name in CLIENT_SIZES:
        want = SIZES[name]
        stale = before[1].replace(before[0], name) if name == STALE_OVER and before else None
        if stale in scan(Path(program.root, program.located.cwd), 0):
            stale = None  # never put a stale copy over one of the submission's own files
        if stale:
            sandbox.evidence.note(Msg(N_("before {name}: the client's folder gets {stale} with {size} bytes of an"
                                         " earlier download (a stale copy it must replace)"),
                                      {"name": name, "stale": repr(stale), "size": len(STALE)}))
        c = _serve_client(sandbox, program, limits, name, want, files={stale: STALE} if stale else None)
        run = c.run
        over = Msg(N_(" (where {stale} already held {n_stale} bytes of an earlier download)"),
                {"stale": repr(stale), "n_stale": len(STALE)}) if stale else ""
        if c.log.problem:
            fail(N_("{name} ({n_want} bytes){over}: {problem}{ended}"),
                 name=name, n_want=len(want), over=over, problem=c.log.problem, ended=ended_note(run))
        found = c.baseline.find(prefer=[stale, *c.sheet_names()] if stale else c.sheet_names(), want=want)
        _note_saved(run, found)
        if found is None:
            fail(N_("{name} ({n_want} bytes){over}: no file was saved in the client's folder{ended}"),
                 name=name, n_want=len(want), over=over, ended=ended_note(run))
        label = found.name if found.name in c.sheet_names() else Msg(N_("the saved file {found_name}"),
                {"found_name": repr(found.name)})
        if found.data is None:
            fail(N_("{name}: the file the client left is {got}"),
                 name=name, got=found.describe())
        if found.data != want:
            why = _stale_copy(found.data, want) if found.name == stale else ""
            if why:
                fail(N_("{name}{over}: {why}"), name=name, over=over, why=why)
            fail(N_("{name}, {label}{over}: {diff}"), name=name, label=label, over=over,
                 diff=_diff(found.data, want, found.size))
        if run.running:
            fail(N_("{name}: the file is right but the client did not exit within {step_s:g} s of the last block"),
                 name=name, step_s=limits.step_s)
        if run.returncode != 0:
            fail(N_("{name}: the file is right but the client {crash}"),
                 name=name, crash=run.crash_summary())
        before = (name, found.name)


@check("tftp-client", "must", "the download is saved as client_<filename>", id="saved-name", sheet="001 §3.2.3",
       hint=N_("open('client_' + filename, 'wb'), in the folder the client runs in."))
def test_tftp_client_saved_name(sandbox, program, limits):
    """Sheet (tftp-client): "saves the download as client_<filename>".  Typed: 'hello.txt', twice: the
    second run finds the first run's file in its folder (a student's second try) and downloads other
    bytes.  Accepted: the file changed is client_hello.txt both times (its bytes are the content
    check's)."""
    want = FILES[NAME]
    c = _serve_client(sandbox, program, limits, NAME, want)
    found = c.saved(want)
    if found is None:
        fail(N_("after downloading {name} no new file is in the client's folder{problem}{ended}"),
             name=repr(NAME), problem=Msg(N_(" ({problem})"),
                    {"problem": c.log.problem}) if c.log.problem else "",
             ended=ended_note(c.run))
    names = c.sheet_names()
    if found.name not in names:
        fail(N_("saved as {found_name}; the sheet says {sheet_name}"),
             found_name=repr(found.name), sheet_name=repr(names[0]))
    if found.data is None:  # a link or an unreadable file: the content checks say so; no copy of it is made
        sandbox.evidence.note(Msg(N_("the first download left {file}: no second run"), {"file": found.describe()}))
        return
    again = FILES["story.txt"]  # other bytes than the first download's
    c2 = _serve_client(sandbox, program, limits, NAME, again, files={found.name: found.data})
    second = c2.saved(again)
    if second is None:
        fail(N_("a second download of {name}, with {found_name} of the first still in the folder, changed no "
                "file{problem}{ended}"),
             name=repr(NAME), found_name=repr(found.name),
             problem=Msg(N_(" ({problem})"),
                    {"problem": c2.log.problem}) if c2.log.problem else "",
             ended=ended_note(c2.run))
    if second.name not in c2.sheet_names():
        fail(N_("a second download of {name}, with {found_name} of the first still in the folder, was saved as "
                "{second_name}; the sheet's name is {found_name} every time: replace the old file (open it with "
                "'wb') instead of choosing another name"),
             name=repr(NAME), found_name=repr(found.name), second_name=repr(second.name))


def _answer_error(sandbox, program, limits, name: str, code: int = 1, message: str = "File not found"):
    """The client's request for ``name`` answered with ERROR ``code`` from a new port; returns the run,
    how much it had printed before, and when the ERROR left (epoch seconds, as packet stamps)."""
    c = _expect_rrq(sandbox, program, limits, name)
    before = _settle(c.run)
    c.tid = TftpPeer(sandbox, label="server TID")
    sent = time.time()
    c.tid.send(tftp.error(code, message), c.request.addr)
    c.run.wait_exit(limits.step_s)
    return c, before, sent


def _error_mid_transfer(sandbox, program, limits):
    """DATA #1 of a 1300-byte file, the client's answer, then ERROR 0 from the transfer port."""
    c = _expect_rrq(sandbox, program, limits, "partial.txt")
    c.tid = TftpPeer(sandbox, label="server TID")
    c.tid.send(tftp.data(1, _ascii(1300)[:512]), c.request.addr)
    if recv_any([c.tid, c.listen], limits.step_s) is None:
        fail(N_("the client sent nothing within {step_s:g} s after DATA #1 (512 bytes): expected ACK #1{ended}"),
             step_s=limits.step_s, ended=ended_note(c.run))
    before = _settle(c.run)
    sent = time.time()
    c.tid.send(tftp.error(0, "transfer cancelled by the server"), c.request.addr)
    c.run.wait_exit(limits.step_s)
    return c, before, sent


def _ignored_error(c: ClientRun, sent: float) -> Received | None:
    """The first packet (an ERROR excepted) the client sent TIMER_GAP s or more after the server's ERROR
    left: its timer ran on.  (One sent at once is a reflex, not a transfer going on: tftp-hpa's client
    answers the ERROR with an ACK and exits.)"""
    later = [r for r in c.tid.drain(0.0) + c.listen.drain(0.0)
             if r.at >= sent + TIMER_GAP and r.addr == c.request.addr and tftp.opcode_of(r.raw) != tftp.ERROR]
    return min(later, key=lambda r: r.at) if later else None


@check("tftp-client", "must", "on ERROR it prints a message and exits without hanging", id="error-exits",
       sheet="001 §3.2.3",
       hint=N_("If the opcode is 5, print the message and break out of the loop, wherever in the transfer it comes."))
def test_tftp_client_error_exits(sandbox, program, limits):
    """Sheet (tftp-client, must): "on ERROR, prints a message and exits without hanging".  Sent: ERROR 1 as
    the answer to the RRQ; in a second run ERROR 0 after DATA #1 (an ERROR ends a transfer wherever it
    comes, RFC 1350 §7).  Accepted: exit within step_s, something printed after the ERROR, no traceback,
    and nothing sent TIMER_GAP s or more after the ERROR but an ERROR (a client that ignores it and
    exits when its retries run out has not stopped on the ERROR; a packet sent at once is a reflex)."""
    for how in (N_("as the answer to the RRQ"), N_("in the middle of the download, after DATA #1")):
        if how.startswith("as"):
            c, before, sent = _answer_error(sandbox, program, limits, "missing.txt")
            what = Msg(N_("ERROR 1 'File not found'"))
        else:
            c, before, sent = _error_mid_transfer(sandbox, program, limits)
            what = Msg(N_("ERROR 0 'transfer cancelled by the server'"))
        run = c.run
        again = _ignored_error(c, sent)
        went_on = ""
        if again is not None:
            went_on = (Msg(N_("; {seconds:.2f} s after the ERROR it sent {got}: it went on with the transfer (its "
                        "timer) instead of stopping"),
                    {"seconds": again.at - sent, "got": again.describe()}))
        if run.running:
            share = run.cpu_share(0.25)
            state = Msg(N_("spinning (a busy loop)")) if share > 0.5 else Msg(N_("waiting for something"))
            fail(N_("the server answered {what} {how}; the client was still running {step_s:g} s later, "
                    "{state}{went_on}"),
                 what=what, how=Msg(how), step_s=limits.step_s, state=state, went_on=went_on)
        if "Traceback (most recent call last)" in run.err:
            fail(N_("the client crashed on {what} ({how}): {crash}"),
                 what=what, how=Msg(how), crash=run.crash_summary())
        if again is not None:
            fail(N_("the server sent {what} {how}{went_on}, and exited only later"),
                 what=what, how=Msg(how), went_on=went_on)
        if run.stdout.total <= before and not run.err.strip():
            fail(N_("the client exited after {what} ({how}) but printed no message"),
                 what=what, how=Msg(how))


@check("tftp-client", "should", "a duplicated DATA block is ACKed again but written once", id="duplicate-data",
       sheet="RFC 1350 §2",
       hint=N_("Keep the next expected block number; a repeat of the previous block is re-ACKed, not written."))
def test_tftp_client_duplicate_data(sandbox, program, limits):
    """Sheet (tftp-client, should): "a duplicated DATA block is ACKed again but written once".  Served: a
    1300-byte file whose DATA #2 is sent twice at once, and whose DATA #1 comes once more late, just
    before DATA #3 (a copy the network delayed).  Accepted: ACK #2 twice; the file exact (the late copy
    may be re-ACKed or ignored, never written)."""
    want = _ascii(1300)
    c = _serve_client(sandbox, program, limits, "dup.txt", want, faults=Faults(duplicate={2}, late={3: 1}))
    got, label = _saved_bytes(c, want)
    sent = Msg(N_("DATA #2 was sent twice at once, and DATA #1 again late (just before DATA #3)"))
    if got != want:
        why = ""
        if got == want[:1024] + want[:512] + want[1024:]:
            why = (Msg(N_(": the late copy of DATA #1 was written again after block 2; only the block numbered one "
                        "more than the last one written is new (remembering just the last block number tells a copy "
                        "that comes at once, not one that comes late)")))
        fail(N_("{sent}; {what}"),
             sent=sent, what=label if got is None else Msg(N_("{label}: {diff}{why}"),
                    {"label": label, "diff": _diff(got, want), "why": why}))
    # an ACK's opcode is the acks check's business: any 4-byte datagram naming block 2 counts here
    acks2 = sum(1 for r in c.log.acks if len(r.raw) == 4 and r.raw[2:4] == b"\x00\x02")
    if acks2 < 2:
        fail(N_("DATA #2 came twice; expected ACK #2 twice (the server may have lost the first), saw it {acks2} "
                "time(s)"),
             acks2=acks2)


STRAY_ERROR = tftp.error(5, "Unknown transfer ID")


@check("tftp-client", "should", "a packet from a wrong port is ignored (or gets ERROR 5); the transfer goes on",
       id="wrong-port",
       sheet="RFC 1350 §4", hint=N_("Remember the address of the first DATA; drop packets from any other, "
                                    "an ERROR included, before looking at their opcode."))
def test_tftp_client_wrong_port(sandbox, program, limits):
    """Sheet (tftp-client, should): "a packet from a wrong port is ignored (or answered with ERROR 5) and the
    transfer goes on".  Served: a 1300-byte file; a stranger (another port) sends a bogus DATA #2 just
    before the real one, and an ERROR 5 just before DATA #3 (any packet: an ERROR from another port is
    not the server's).  Accepted: the stranger gets nothing or ERROR 5, the file exact."""
    want = _ascii(1300)
    bogus = tftp.data(2, b"\xee" * 512)
    c = _serve_client(sandbox, program, limits, "stray.txt", want,
                      faults=Faults(stranger={2: bogus, 3: STRAY_ERROR}))
    got, label = _saved_bytes(c, want)
    answers = c.tid.stranger().drain(0.0)
    wrong = [r for r in answers if not (isinstance(r.packet, tftp.Error) and r.packet.code == 5)]
    if wrong:
        fail(N_("a DATA #2 from another port was answered with {got}: it was taken for the server"),
             got=wrong[0].describe())
    if got != want:
        sent = (Msg(N_("a stranger (another port) sent DATA #2 before the real one, and ERROR 5 before DATA #3; "
                    "{what}"),
                {"what": label if got is None else Msg(N_("{label}: {diff}"), {"label": label,
                                                                               "diff": _diff(got, want)})}))
        three = [r for r in c.log.acks if len(r.raw) == 4 and r.raw[2:4] == b"\x00\x03"]
        if got is not None and got == want[:1024] or (got is None and not three and not c.run.running):
            fail(N_("{sent}: the client stopped on the stranger's ERROR; an ERROR from another port than the "
                    "server's transfer port is not the server's: check the address before the opcode"),
                 sent=sent)
        fail(sent + (f"; {c.log.problem}" if c.log.problem else ""))


def _recovery_fault(c: ClientRun, block: int) -> str:
    """"" when the client recovered DATA #``block``, withheld once, with ACK #``block``-1 again after a
    timeout, from its transfer port to the server's; else a sentence naming what it did instead.

    The first packet after the withholding is judged; a copy of the last ACK that arrived less than
    TIMER_GAP s after it (sent together with it, before any timer) is an echo and is passed over."""
    want = Msg(N_("ACK #{block} to the transfer port ({port})"),
            {"block": block - 1, "port": c.tid.port})
    seen = [w for w in c.log.after_withheld if w.block == block]
    if not seen:
        return Msg(N_("DATA #{block} was never withheld ({why})"),
                {"block": block, "why": c.log.problem or Msg(N_("the transfer ended before it"))})
    echoes = [w for w in seen if w.echo]
    first = next(w for w in seen if not w.echo) if len(echoes) < len(seen) else None
    head = Msg(N_("after DATA #{block} was withheld, the client"),
            {"block": block})
    if echoes:
        head += (Msg(N_(" sent ACK #{block} a second time at once ({gap:.3f} s after the first, before any timeout: a "
                    "copy sent with every ACK, not a retransmission), then"),
                {"block": block - 1, "gap": echoes[0].gap}))
    r = first.packet if first is not None else None
    if r is None:
        return Msg(N_("{head} sent nothing within {retransmit_budget:g} s instead of {want} again{ended}"),
                {"head": head, "retransmit_budget": RETRANSMIT_BUDGET, "want": want, "ended": ended_note(c.run)})
    if isinstance(r.packet, tftp.Request):
        what = Msg(N_("a new {name} for {filename}"),
                {"name": r.packet.name, "filename": repr(r.packet.filename)})
    else:
        what = r.describe() if r.packet is not None else Msg(N_("a {n_raw}-byte packet ({hex})"),
                {"n_raw": len(r.raw), "hex": r.raw[:12].hex(' ')})
    if r.to != c.tid.label:
        port = c.listen.port if r.to == c.listen.label else r.to
        return Msg(N_("{head} sent {what} to port {port} instead of {want}"),
                {"head": head, "what": what, "port": port, "want": want})
    # the ACK's opcode is the acks check's business: a 4-byte packet naming the block counts here
    if len(r.raw) != 4 or int.from_bytes(r.raw[2:4], "big") != tftp.block_number(block - 1):
        return Msg(N_("{head} sent {what} instead of {want} again"),
                {"head": head, "what": what, "want": want})
    if c.log.tid is not None and r.addr != c.log.tid:
        return (Msg(N_("{head} sent ACK #{block} again from a new port {port}, not from its transfer port {port2} (a "
                    "new socket is a new transfer ID the server rejects)"),
                {"head": head, "block": block - 1, "port": r.addr[1], "port2": c.log.tid[1]}))
    return ""


@check("tftp-client", "should", "a lost DATA block is recovered by sending the last ACK again after a timeout",
       id="lost-data",
       sheet="RFC 1350 §2", hint=N_("settimeout() on the socket; on timeout send the last ACK again (a few times), "
                                    "to the server's transfer port, from the same socket."))
def test_tftp_client_lost_data(sandbox, program, limits):
    """Sheet (tftp-client, should): "a lost DATA block is recovered by retransmitting the last ACK after a
    timeout".  The line names the means, so the means is what is judged: DATA #2 is withheld once, and the
    client's next packet must be ACK #1 again, from its transfer port to the server's transfer port, after
    a timeout: at least TIMER_GAP s after the first ACK #1 (kernel arrival stamps) and within
    RETRANSMIT_BUDGET s.  A copy of ACK #1 sent together with the first (a client that sends every ACK
    twice: legal) is passed over and does not count; a new RRQ to port 69, an ACK from a new socket, or
    silence fail, whatever the file ends up holding.  Then the file must be complete.  Any 4-byte packet
    naming block 1 counts as the ACK (its opcode is the acks check's).
    """
    want = _ascii(1300)
    c = _serve_client(sandbox, program, limits, "lost.txt", want, faults=Faults(drop={2}), echo_window=TIMER_GAP)
    why = _recovery_fault(c, 2)
    if why:
        fail(why)
    if c.log.problem:
        fail(N_("after ACK #1 was sent again: {problem}{ended}"),
             problem=c.log.problem, ended=ended_note(c.run))
    got, label = _saved_bytes(c, want)
    if got != want:
        fail(N_("after the lost block {what}"),
             what=label if got is None else Msg(N_("{label}: {diff}"),
                    {"label": label, "diff": _diff(got, want)}))


@check("tftp-client", "should", "on ERROR no empty client_<name> is left behind", id="no-empty-file",
       sheet="RFC 1350 §7",
       hint=N_("Open the output file only when the first DATA arrives (or delete it on ERROR)."))
def test_tftp_client_no_empty_file(sandbox, program, limits):
    """Sheet (tftp-client, should): "on ERROR no empty client_<filename> is left behind".  Sent: ERROR 1
    (File not found) as the answer to the RRQ; in a second run ERROR 2 (Access violation): any ERROR,
    not only a missing file.  Accepted: neither run leaves client_<name>, nor an empty file by another
    name."""
    for code, message in ((1, "File not found"), (2, "Access violation")):
        c, _, _ = _answer_error(sandbox, program, limits, "missing.txt", code, message)
        c.run.kill()  # its retries must not meet the next run's listener
        c.listen.sock.close()
        for name, st in sorted(c.baseline.changed().items()):
            # the sheet's name in any state, or an empty file under any other name: both read as a download
            if name in c.sheet_names() or (st.kind == "file" and st.size == 0):
                fail(N_("after ERROR {code} {message} the client left {name} ({size} bytes) behind"),
                     code=code, message=repr(message), name=repr(name), size=st.size)


@check("tftp-client", "extra", "interop: downloads from the reference server", id="with-reference", sheet="001 §3.2")
def test_tftp_client_with_reference(sandbox, program, reference, limits):
    reference.start("tftp-server", files=FILES)
    run = program.start(stdin="multi.txt")
    baseline = Baseline.of_run(run, Path(program.root, program.located.cwd))
    exits_zero(run, limits.step_s * 2, Msg(N_("after downloading 'multi.txt' from the reference server")))
    want = FILES["multi.txt"]
    found = baseline.find(prefer=[program.spec.expect.get("saved_prefix", "client_") + "multi.txt"], want=want)
    _note_saved(run, found)
    if found is None:
        fail(N_("multi.txt: nothing was saved; the client printed {bytes}"),
             bytes=show_bytes(run.out.encode(), 200))
    if found.data is None:
        fail(N_("multi.txt: the client left {got}"),
             got=found.describe())
    if found.data != want:
        fail(N_("multi.txt, saved as {found_name}: {diff}"),
             found_name=repr(found.name), diff=_diff(found.data, want, found.size))
