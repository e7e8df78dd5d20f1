"""TFTP family: tftp-server and tftp-client (RFC 1350).

Sheet: "## TFTP" in course-pack.md (notes 001 §3.2; field notes
tftp-conformance.md).  Each check is one line of the sheet at the sheet's
level.  The grader's side is a scripted TFTP peer (harness/peers/tftp.py):
against the server it is a client that fetches files, against the client it
is a server on port 69 that answers from a new port.  Every packet is in the
evidence, decoded ("DATA #3 (512 B)") with its first bytes in hex.

Timers: a retransmission is awaited at most RETRANSMIT_BUDGET seconds
(students choose timeouts of 1-5 s); everything else waits ``step_s``, which a
correct program never comes near.

The server checks are run against tftpd-hpa too (tests/test_tftp_interop.py):
it passes every must check; the should checks where it differs from the sheet
(no ERROR 5 to a stranger, ERROR 1 for escaping names under its chroot,
silence for an unknown opcode) are listed there.  A retransmitted block that
arrives while a check holds an ACK back is taken as what it is, not as a
disturbance.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks import check, fail
from harness.expect import exits_zero, no_crash, target_of
from harness.peers.tftp import Faults, TftpPeer, Transfer
from harness.protocols import tftp
from harness.text import show_bytes

RETRANSMIT_BUDGET = 6.0  # students' timers are 1-5 s
SA_WINDOW = 0.25  # a duplicate caused by a duplicate ACK leaves at once; a timer takes a second


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


def _ended(run) -> str:
    return "" if run.running else f"; the program ended: {run.crash_summary()}"


def _sizes(log: Transfer) -> list[int]:
    return [len(r.packet.data) for r in log.data if isinstance(r.packet, tftp.Data)]


def _diff(got: bytes, want: bytes) -> str:
    if got == want:
        return "identical"
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return (f"{len(got)} bytes instead of {len(want)}; first difference at byte {n} "
            f"(block {n // 512 + 1}): got {got[n:n + 12].hex(' ') or 'nothing'}, "
            f"expected {want[n:n + 12].hex(' ') or 'nothing'}")


def _error_code(r) -> int | None:
    """The code of an ERROR packet, read from the raw bytes (the NUL is the must line's business)."""
    if r is None or len(r.raw) < 4 or r.raw[:2] != b"\x00\x05":
        return None
    return int.from_bytes(r.raw[2:4], "big")


def _outcome(log: Transfer, name: str, run) -> str:
    if log.error is not None:
        return f"the server answered ERROR {log.error.code} {log.error.message!r}"
    if log.problem:
        return log.problem + _ended(run)
    return ""


# ================================================================== tftp-server

class Download:
    """One client of the server under test, moved one block at a time (to interleave clients)."""

    def __init__(self, sandbox, run, name: str, label: str, step: float) -> None:
        self.peer = TftpPeer(sandbox, label=label)
        self.run, self.name, self.label, self.step = run, name, label, step
        self.content = bytearray()
        self.index = 1
        self.tid: tuple[str, int] | None = None
        self.done = False
        self.peer.send(tftp.rrq(name), target_of(run.listener))

    def receive(self, what: str = "") -> tftp.Data:
        """The next DATA block of this transfer, or the check fails."""
        want = tftp.block_number(self.index)
        while True:
            r = self.peer.recv_packet(self.step, expect_from="the server")
            if r is None:
                fail(f"{self.label} ({self.name!r}): expected DATA #{want} within {self.step:g} s{what}; got nothing"
                     + _ended(self.run))
            if self.tid is None:
                self.tid = r.addr
            if r.addr != self.tid:
                fail(f"{self.label}: DATA came from port {r.addr[1]}, then from {self.tid[1]}: "
                     "a transfer keeps its port")
            if not _repeat(r, self.index - 1):
                break
            # the previous block again: the server's timer fired while the check held its ACK back
        if not isinstance(r.packet, tftp.Data) or r.packet.block != want:
            fail(f"{self.label} ({self.name!r}): expected DATA #{want}{what}; got {r.describe()}")
        self.content += r.packet.data
        return r.packet

    def ack(self) -> None:
        block = tftp.block_number(self.index)
        last = len(self.content) < self.index * tftp.BLOCK_SIZE
        self.peer.send(tftp.ack(block), self.tid)
        self.index += 1
        self.done = last

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
    r = peer.recv_packet(limits.step_s, expect_from="the server")
    return peer, r


@check("tftp-server", "must", "answers an RRQ from a new port (a new transfer ID), not from 69",
       sheet="001 §3.2; RFC 1350 §4",
       hint="Create a new socket for each download and send the DATA from it; port 69 only takes requests.")
def test_tftp_server_new_port(sandbox, program, limits):
    run = program.start_server(files=FILES)
    _, r = _first_reply(sandbox, run, tftp.rrq("hello.txt"), limits)
    if r is None:
        fail(f"expected DATA #1 in reply to RRQ 'hello.txt' within {limits.step_s:g} s; got nothing" + _ended(run))
    if r.addr[1] == run.listener.port:
        fail(f"the reply ({r.describe()}) came from port {run.listener.port} itself; a transfer must use a new "
             "socket, whose port is the server's transfer ID")
    if not isinstance(r.packet, tftp.Data) or r.packet.block != 1:
        fail(f"expected DATA #1 from the new port {r.addr[1]}; got {r.describe()}")


@check("tftp-server", "must", "DATA blocks of 512 bytes numbered 1, 2, 3…, each after the previous ACK; "
       "the last shorter, empty for a multiple of 512", sheet="001 §3.2; RFC 1350 §5-6",
       hint="Send block n+1 only after ACK n arrives; when the size is a multiple of 512 an empty block ends it.")
def test_tftp_server_blocks(sandbox, program, limits):
    run = program.start_server(files={"three.txt": _text(1300), "two.txt": _text(1024)})
    for name, sizes in (("three.txt", [512, 512, 276]), ("two.txt", [512, 512, 0])):
        log = _fetch(sandbox, run, name, limits, lockstep_window=0.1)
        if log.early:
            fail(f"{name}: {log.early[0]}: the server did not wait for the ACK (lock-step, RFC 1350 §2)")
        seen = _sizes(log)
        if log.error is not None or log.problem:
            hint = ""
            if sizes[-1] == 0 and seen == sizes[:-1]:
                hint = " (the file is 1024 bytes, a multiple of 512: an empty DATA #3 must end it)"
            fail(f"{name}: block sizes {sizes} expected; saw {seen}, then {_outcome(log, name, run)}{hint}")
        if seen != sizes:
            fail(f"{name}: block sizes {sizes} expected; saw {seen}")


@check("tftp-server", "must", "the bytes received equal the file (0, 1, 511, 512, 513 bytes, multi-block, binary)",
       sheet="001 §3.2; RFC 1350 §5", hint="Open the file in 'rb' and send f.read(512) per block, unchanged.")
def test_tftp_server_content(sandbox, program, limits):
    run = program.start_server(files=FILES)
    for name, want in SIZES.items():
        log = _fetch(sandbox, run, name, limits, label=f"client for {name}")
        why = _outcome(log, name, run)
        if why:
            fail(f"{name} ({len(want)} bytes): {why}")
        if bytes(log.content) != want:
            fail(f"{name}: {_diff(bytes(log.content), want)}")


def _missing(sandbox, run, limits):
    _, r = _first_reply(sandbox, run, tftp.rrq("no_such_file.txt"), limits)
    if r is None:
        fail(f"expected an ERROR packet for the missing file 'no_such_file.txt' within {limits.step_s:g} s; "
             "got nothing" + _ended(run))
    if _error_code(r) is None:
        fail(f"expected an ERROR packet (opcode 5) for a missing file; got {r.describe()} ({r.raw[:24].hex(' ')})")
    return r


@check("tftp-server", "must", "a missing file gets an ERROR packet (opcode 5) with a NUL-terminated message",
       sheet="001 §3.2; RFC 1350 §5", hint="struct.pack('!HH', 5, 1) + message.encode() + b'\\x00'.")
def test_tftp_server_missing_file(sandbox, program, limits):
    run = program.start_server(files=FILES)
    raw = _missing(sandbox, run, limits).raw
    if len(raw) < 5 or not raw.endswith(b"\x00"):
        fail(f"the ERROR packet's message must end with a NUL byte; got {show_bytes(raw)} ({raw[:24].hex(' ')})")


@check("tftp-server", "should", "the error code for a missing file is 1 (File not found)",
       sheet="RFC 1350 appendix")
def test_tftp_server_error_code(sandbox, program, limits):
    run = program.start_server(files=FILES)
    r = _missing(sandbox, run, limits)
    code = _error_code(r)
    if code != 1:
        fail(f"expected error code 1 (File not found); got {code} ({r.describe()})")


@check("tftp-server", "should", "the mode is matched case-insensitively (OCTET)", sheet="RFC 1350 §5",
       hint="Compare mode.lower() == 'octet'.")
def test_tftp_server_mode_case(sandbox, program, limits):
    run = program.start_server(files=FILES)
    log = _fetch(sandbox, run, "hello.txt", limits, mode="OCTET")
    why = _outcome(log, "hello.txt", run)
    if why:
        fail(f"RRQ 'hello.txt' in mode 'OCTET': {why}")
    if bytes(log.content) != FILES["hello.txt"]:
        fail(f"RRQ in mode 'OCTET': {_diff(bytes(log.content), FILES['hello.txt'])}")


@check("tftp-server", "should", "a lost ACK makes the server send the block again after a timeout",
       sheet="RFC 1350 §2; RFC 1123 §4.2.3.2",
       hint="settimeout() on the transfer socket; on timeout send the same DATA again (a few times at most).")
def test_tftp_server_retransmit(sandbox, program, limits):
    run = program.start_server(files=FILES)
    log = _fetch(sandbox, run, "multi.txt", limits, faults=Faults(drop={2}))
    if 2 not in log.repeats:
        fail(f"ACK #2 was withheld; expected DATA #2 again within {RETRANSMIT_BUDGET:g} s: "
             + (_outcome(log, "multi.txt", run) or "it never came"))
    why = _outcome(log, "multi.txt", run)
    if why or bytes(log.content) != FILES["multi.txt"]:
        fail("after the retransmission the transfer did not end right: "
             + (why or _diff(bytes(log.content), FILES["multi.txt"])))


@check("tftp-server", "should", "a duplicated ACK does not send the next block twice (Sorcerer's Apprentice)",
       sheet="RFC 1123 §4.2.3.1", hint="On an ACK for an older block, do nothing; only a timeout sends again.")
def test_tftp_server_duplicate_ack(sandbox, program, limits):
    run = program.start_server(files=FILES)
    d = Download(sandbox, run, "multi.txt", "client", limits.step_s)
    d.receive()
    d.peer.send(tftp.ack(1), d.tid)
    d.peer.send(tftp.ack(1), d.tid, note="duplicate")
    d.index += 1
    d.receive(" after ACK #1 (sent twice)")
    extra = [r for r in d.peer.drain(SA_WINDOW) if r.addr == d.tid]
    if extra:
        fail(f"after ACK #1 came twice, the server sent DATA #2 and then {extra[0].describe()} at once, "
             "without ACK #2: a duplicate ACK must be ignored")
    d.ack()
    got = d.finish()
    if got != FILES["multi.txt"]:
        fail(f"after a duplicate ACK the file arrived wrong: {_diff(got, FILES['multi.txt'])}")


@check("tftp-server", "should", "a packet from a wrong port gets ERROR 5 and does not disturb the transfer",
       sheet="RFC 1350 §4", hint="Compare recvfrom()'s address with the client's; answer others with ERROR 5.")
def test_tftp_server_wrong_port(sandbox, program, limits):
    run = program.start_server(files=FILES)
    d = Download(sandbox, run, "multi.txt", "client", limits.step_s)
    d.receive()
    d.ack()
    d.receive()
    stranger = d.peer.stranger()
    stranger.send(tftp.ack(2), d.tid, note="ACK #2 from a wrong port")
    r = stranger.recv_packet(limits.step_s, expect_from="the server (to the stranger)")
    # DATA #2 again is the server's timer (the check holds ACK #2 back meanwhile); anything else means
    # the stranger's ACK was taken for the client's
    disturbed = [x for x in d.peer.drain(0.05) if x.addr == d.tid and not _repeat(x, 2)]
    if disturbed:
        fail(f"an ACK #2 from another port (the stranger) moved the transfer on: the client got "
             f"{disturbed[0].describe()} before it sent ACK #2")
    d.ack()
    got = d.finish()
    if got != FILES["multi.txt"]:
        fail(f"after the stray packet the file arrived wrong: {_diff(got, FILES['multi.txt'])}")
    if r is None:
        fail("the transfer went on undisturbed, but the packet from the wrong port got no answer: "
             "expected ERROR 5 (Unknown transfer ID)" + _ended(run))
    if _error_code(r) != 5:
        fail(f"expected ERROR 5 (Unknown transfer ID) for the packet from the wrong port; got {r.describe()}")


@check("tftp-server", "should", "two clients downloading at once both get correct files", sheet="RFC 1350 §4",
       hint="Serve each request in its own thread with its own socket.")
def test_tftp_server_two_clients(sandbox, program, limits):
    run = program.start_server(files=FILES)
    a = Download(sandbox, run, "multi.txt", "client A", limits.step_s)
    a.receive()
    b = Download(sandbox, run, "story.txt", "client B", limits.step_s)
    b.receive(" while client A's transfer is still open")
    while not (a.done and b.done):
        for d in (a, b):
            if not d.done:
                d.ack()
                if not d.done:
                    d.receive()
    for d, name in ((a, "multi.txt"), (b, "story.txt")):
        if bytes(d.content) != FILES[name]:
            fail(f"{d.label} ({name}): {_diff(bytes(d.content), FILES[name])}")


ESCAPES = ("../../../../../../../../../../etc/passwd", "/etc/passwd", "sub/../../../../../../../../../etc/passwd")


@check("tftp-server", "should", "a filename with .. or an absolute path is refused (ERROR 2), nothing outside served",
       sheet="RFC 1350 §8; RFC 1123 §4.2.3.4",
       hint="os.path.realpath() the joined path and check it is still inside the served folder.")
def test_tftp_server_path_safety(sandbox, program, limits):
    run = program.start_server(files=FILES)
    for name in ESCAPES:
        _, r = _first_reply(sandbox, run, tftp.rrq(name), limits)
        if r is None:
            fail(f"RRQ {name!r}: expected ERROR 2 (access violation); got nothing" + _ended(run))
        if isinstance(r.packet, tftp.Data):
            fail(f"RRQ {name!r} was served: {r.describe()} starting {show_bytes(r.packet.data, 40)}; "
                 "files outside the served folder must be refused")
        if _error_code(r) != 2:
            fail(f"RRQ {name!r}: expected ERROR 2 (access violation); got {r.describe()}")


MALFORMED = (
    (b"\x00\x01", "an RRQ with nothing after the opcode"),
    (b"\x00\x01hello.txt", "an RRQ without NUL after the filename"),
    (b"\x00\x01hello.txt\x00", "an RRQ without a mode"),
    (b"\x00\x09hello.txt\x00octet\x00", "a request with the unknown opcode 9"),
)


@check("tftp-server", "should", "a malformed request gets an ERROR, never a crash", sheet="RFC 1350 §5",
       hint="Parse inside try/except; answer what cannot be parsed with ERROR 4 and keep serving.")
def test_tftp_server_malformed(sandbox, program, limits):
    run = program.start_server(files=FILES)
    for raw, what in MALFORMED:
        _, r = _first_reply(sandbox, run, raw, limits, label="prober")
        if r is None:
            state = f"it crashed: {run.crash_summary()}" if not run.running else "it sent nothing"
            fail(f"{what} ({raw.hex(' ')}): expected an ERROR packet; {state}")
        if _error_code(r) is None:
            fail(f"{what} ({raw.hex(' ')}): expected an ERROR packet; got {r.describe()}")
    no_crash(run, "after malformed requests")
    log = _fetch(sandbox, run, "hello.txt", limits)
    if log.error is not None or log.problem or bytes(log.content) != FILES["hello.txt"]:
        fail("after the malformed requests a normal RRQ failed: "
             + (_outcome(log, "hello.txt", run) or _diff(bytes(log.content), FILES["hello.txt"])))


# ------------------------------------------------------------------ server extras

@check("tftp-server", "extra", "write requests (WRQ, upload) are stored", sheet="RFC 1350 §4-5")
def test_tftp_server_upload(sandbox, program, limits):
    run = program.start_server(files=FILES)
    content = _binary(1300)
    peer = TftpPeer(sandbox, label="uploader")
    peer.send(tftp.wrq("uploaded.bin"), target_of(run.listener))
    r = peer.recv_packet(limits.step_s, expect_from="the server")
    if r is None or not isinstance(r.packet, tftp.Ack) or r.packet.block != 0:
        fail("expected ACK #0 in reply to WRQ 'uploaded.bin'; got " + (r.describe() if r else "nothing"))
    if r.addr[1] == run.listener.port:
        fail(f"ACK #0 came from port {run.listener.port} itself; a transfer must use a new port")
    tid = r.addr
    for index, chunk in enumerate(tftp.blocks(content), start=1):
        peer.send(tftp.data(index, chunk), tid)
        r = peer.recv_packet(limits.step_s, expect_from="the server")
        if r is None or not isinstance(r.packet, tftp.Ack) or r.packet.block != index:
            fail(f"expected ACK #{index} for DATA #{index}; got " + (r.describe() if r else "nothing"))
    saved = Path(run.workdir, "uploaded.bin")
    for _ in range(2):  # the server may rename or close the file just after the last ACK
        if saved.is_file() and saved.read_bytes() == content:
            return
        run.wait_exit(0.1)
    if not saved.is_file():
        fail("after the upload there is no file 'uploaded.bin' in the server's folder")
    fail(f"the uploaded file differs: {_diff(saved.read_bytes(), content)}")


@check("tftp-server", "extra", "netascii mode: LF → CR LF, CR → CR NUL", sheet="RFC 1350 §5; RFC 1123 §4.2.4")
def test_tftp_server_netascii(sandbox, program, limits):
    local = b"line one\nline two\rbare\n" * 30
    run = program.start_server(files={"text.txt": local})
    log = _fetch(sandbox, run, "text.txt", limits, mode="netascii")
    why = _outcome(log, "text.txt", run)
    if why:
        fail(f"RRQ 'text.txt' in mode netascii: {why}")
    want = tftp.to_netascii(local)
    if bytes(log.content) != want:
        fail(f"netascii: {_diff(bytes(log.content), want)}")


@check("tftp-server", "extra", "files over 65535 blocks: the block number wraps to 0", sheet="RFC 1350 §5 (practice)")
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
        fail(f"a {size}-byte file (65537 blocks): {why}")
    if len(log.content) != size or bytes(log.content) != content:
        fail(f"a {size}-byte file: {_diff(bytes(log.content), content)}")


@check("tftp-server", "extra", "options blksize, tsize, timeout answered with an OACK", sheet="RFC 2347/2348/2349")
def test_tftp_server_options(sandbox, program, limits):
    content = _binary(3000)
    run = program.start_server(files={"opt.bin": content})
    asked = {"blksize": "1024", "tsize": "0", "timeout": "2"}
    log = _fetch(sandbox, run, "opt.bin", limits, options=asked, blksize=tftp.BLOCK_SIZE)
    if log.oack is None:
        fail("expected an OACK for the options blksize=1024 tsize=0 timeout=2; got "
             + (_outcome(log, "opt.bin", run) or f"DATA #1 of {(_sizes(log) or [0])[0]} bytes (options ignored)"))
    want = {"blksize": "1024", "tsize": str(len(content)), "timeout": "2"}
    if log.oack.options != want:
        fail(f"OACK: expected {want}; got {log.oack.options}")
    why = _outcome(log, "opt.bin", run)
    if why or _sizes(log) != [1024, 1024, 952] or bytes(log.content) != content:
        fail(f"after the OACK: expected blocks [1024, 1024, 952]; saw {_sizes(log)} {why}")


@check("tftp-server", "extra", "interop: the reference client downloads a file", sheet="001 §3.2")
def test_tftp_server_with_reference(sandbox, program, reference, limits):
    program.start_server(files=FILES)
    client = reference.start("tftp-client", stdin="binary.bin")
    code = client.wait_exit(limits.step_s * 2)
    saved = Path(client.workdir, "client_binary.bin")
    if code != 0 or not saved.is_file():
        fail(f"the reference client did not download 'binary.bin': {client.crash_summary()}; "
             f"it printed {show_bytes(client.out.encode(), 200)}")
    if saved.read_bytes() != FILES["binary.bin"]:
        fail(f"the reference client saved a different file: {_diff(saved.read_bytes(), FILES['binary.bin'])}")


# ================================================================== tftp-client

NAME = "hello.txt"


def _settle(run, limit: float = 0.5) -> int:
    """Let the prompt reach us, so that what follows is the program's answer to the next packet."""
    total = run.stdout.total
    waited = 0.0
    while waited < limit and run.wait_output_growth(0.05, total):
        total = run.stdout.total
        waited += 0.05
    return total


def _expect_rrq(sandbox, program, limits, name: str):
    listen = TftpPeer(sandbox, program.port, label=f"server :{program.port}")
    run = program.start(stdin=name)
    r = listen.recv_packet(limits.step_s, expect_from="the client")
    if r is None:
        fail(f"expected an RRQ on UDP port {program.port} within {limits.step_s:g} s after the filename; "
             "got nothing" + _ended(run))
    if r.raw[:2] != b"\x00\x01":  # its exact layout is the rrq check's business
        fail(f"expected an RRQ (opcode 1) for {name!r}; got {r.describe()} ({r.raw[:24].hex(' ')})")
    return listen, run, r


def _serve_client(sandbox, program, limits, name: str, content: bytes, faults: Faults | None = None,
                  strict: bool = False):
    listen, run, r = _expect_rrq(sandbox, program, limits, name)
    tid = TftpPeer(sandbox, label="server TID")
    log = tid.serve(r.addr, content, faults=faults, step=limits.step_s, retransmit_wait=RETRANSMIT_BUDGET,
                    strict=strict, also=[listen], done=lambda: not run.running)
    run.wait_exit(limits.step_s)
    return run, log, Path(run.workdir, "client_" + name), tid


def _saved(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


@check("tftp-client", "must", "the RRQ is opcode 1, the filename, NUL, 'octet', NUL", sheet="001 §3.2.3; RFC 1350 §5",
       hint="struct.pack('!H', 1) + name.encode() + b'\\x00' + b'octet' + b'\\x00'.")
def test_tftp_client_rrq(sandbox, program, limits):
    _, _, r = _expect_rrq(sandbox, program, limits, NAME)
    want = tftp.rrq(NAME)
    if r.raw != want:
        fail(f"expected the RRQ {want.hex(' ')} ({tftp.describe(want)}); got {r.raw.hex(' ')} ({r.describe()})")


@check("tftp-client", "must", "every DATA block is ACKed (the last included), with ACK n to the server's new port",
       sheet="001 §3.2.3; RFC 1350 §4-6",
       hint="After each DATA, sendto(struct.pack('!HH', 4, block), addr) with the addr the DATA came from.")
def test_tftp_client_acks(sandbox, program, limits):
    content = _binary(1024)  # 512 + 512 + an empty final block
    run, log, _, tid = _serve_client(sandbox, program, limits, "acks.bin", content, strict=True)
    to69 = [s for s in log.strays if s.to != tid.label]
    if to69:
        fail(f"the client sent {to69[0].describe()} to port {program.port}; ACKs go to the port the DATA came from "
             f"({tid.port})")
    if log.strays:
        s = log.strays[0]
        fail(f"{s.describe()} came from port {s.addr[1]}, not from the port of the RRQ ({log.tid[1]})")
    if log.problem:
        got = log.acks[-1] if log.acks else None
        raw = f" ({got.raw.hex(' ')})" if got else ""
        fail(f"{log.problem}{raw}; an ACK is exactly 00 04 and the 2-byte block number" + _ended(run))
    if log.unacked_last:
        fail("no ACK for the last DATA (#3, the empty block that ends a 1024-byte file); "
             "RFC 1350 §6: the last block is acknowledged too")


@check("tftp-client", "must", "the saved client_<name> equals the served file (0, 511, 512, 513 bytes, multi, "
       "binary) and the client exits 0", sheet="001 §3.2.3",
       hint="Open client_<name> in 'wb', write each block's data[4:], stop after a block shorter than 512.")
def test_tftp_client_content(sandbox, program, limits):
    for name in CLIENT_SIZES:
        want = SIZES[name]
        run, log, path, _ = _serve_client(sandbox, program, limits, name, want)
        if log.problem:
            fail(f"{name} ({len(want)} bytes): {log.problem}" + _ended(run))
        got = _saved(path)
        if got is None:
            fail(f"{name} ({len(want)} bytes): no file {path.name!r} in the client's folder" + _ended(run))
        if got != want:
            fail(f"{path.name}: {_diff(got, want)}")
        if run.running:
            fail(f"{name}: the file is right but the client did not exit within {limits.step_s:g} s of the last block")
        if run.returncode != 0:
            fail(f"{name}: the file is right but the client {run.crash_summary()}")


def _answer_error(sandbox, program, limits, name: str):
    listen, run, r = _expect_rrq(sandbox, program, limits, name)
    before = _settle(run)
    tid = TftpPeer(sandbox, label="server TID")
    tid.send(tftp.error(1, "File not found"), r.addr)
    run.wait_exit(limits.step_s)
    return run, before, Path(run.workdir, "client_" + name)


@check("tftp-client", "must", "on ERROR it prints a message and exits without hanging", sheet="001 §3.2.3",
       hint="If the opcode is 5, print the message and break out of the loop.")
def test_tftp_client_error_exits(sandbox, program, limits):
    run, before, _ = _answer_error(sandbox, program, limits, "missing.txt")
    if run.running:
        share = run.cpu_share(0.25)
        how = "spinning (a busy loop)" if share > 0.5 else "waiting for something"
        fail(f"the server answered ERROR 1 'File not found'; the client was still running {limits.step_s:g} s later, {how}")
    if "Traceback (most recent call last)" in run.err:
        fail(f"the client crashed on the ERROR packet: {run.crash_summary()}")
    if run.stdout.total <= before and not run.err.strip():
        fail("the client exited after ERROR 1 'File not found' but printed no message")


@check("tftp-client", "should", "a duplicated DATA block is ACKed again but written once", sheet="RFC 1350 §2",
       hint="Keep the next expected block number; a repeat of the previous block is re-ACKed, not written.")
def test_tftp_client_duplicate_data(sandbox, program, limits):
    want = _ascii(1300)
    run, log, path, _ = _serve_client(sandbox, program, limits, "dup.txt", want, faults=Faults(duplicate={2}))
    got = _saved(path)
    if got != want:
        fail(f"DATA #2 was sent twice; {path.name}: " + ("missing" if got is None else _diff(got, want)))
    acks2 = sum(1 for r in log.acks if isinstance(r.packet, tftp.Ack) and r.packet.block == 2)
    if acks2 < 2:
        fail(f"DATA #2 came twice; expected ACK #2 twice (the server may have lost the first), saw it {acks2} time(s)")


@check("tftp-client", "should", "a packet from a wrong port is ignored (or gets ERROR 5); the transfer goes on",
       sheet="RFC 1350 §4", hint="Remember the address of the first DATA; drop packets from any other.")
def test_tftp_client_wrong_port(sandbox, program, limits):
    want = _ascii(1300)
    bogus = tftp.data(2, b"\xee" * 512)
    run, log, path, tid = _serve_client(sandbox, program, limits, "stray.txt", want, faults=Faults(stranger={2: bogus}))
    got = _saved(path)
    answers = tid.stranger().drain(0.0)
    wrong = [r for r in answers if not (isinstance(r.packet, tftp.Error) and r.packet.code == 5)]
    if wrong:
        fail(f"a DATA #2 from another port was answered with {wrong[0].describe()}: it was taken for the server")
    if got != want:
        fail(f"a DATA #2 from another port came first; {path.name}: "
             + ("missing" if got is None else _diff(got, want)) + (f"; {log.problem}" if log.problem else ""))


@check("tftp-client", "should", "a lost DATA block is recovered by sending the last ACK again after a timeout",
       sheet="RFC 1350 §2", hint="settimeout() on the socket; on timeout send the last ACK again (a few times).")
def test_tftp_client_lost_data(sandbox, program, limits):
    want = _ascii(1300)
    run, log, path, _ = _serve_client(sandbox, program, limits, "lost.txt", want, faults=Faults(drop={2}))
    if log.problem or 1 not in log.repeats:
        fail(f"DATA #2 was withheld; expected ACK #1 again within {RETRANSMIT_BUDGET:g} s: "
             + (log.problem or "the client sent something else") + _ended(run))
    got = _saved(path)
    if got != want:
        fail(f"after the lost block {path.name}: " + ("missing" if got is None else _diff(got, want)))


@check("tftp-client", "should", "on ERROR no empty client_<name> is left behind", sheet="RFC 1350 §7",
       hint="Open the output file only when the first DATA arrives (or delete it on ERROR).")
def test_tftp_client_no_empty_file(sandbox, program, limits):
    run, _, path = _answer_error(sandbox, program, limits, "missing.txt")
    if path.exists():
        size = path.stat().st_size if path.is_file() else 0
        fail(f"after ERROR 1 'File not found' the client left {path.name!r} ({size} bytes) behind")


@check("tftp-client", "extra", "interop: downloads from the reference server", sheet="001 §3.2")
def test_tftp_client_with_reference(sandbox, program, reference, limits):
    reference.start("tftp-server", files=FILES)
    run = program.start(stdin="multi.txt")
    exits_zero(run, limits.step_s * 2, "after downloading 'multi.txt' from the reference server")
    got = _saved(Path(run.workdir, "client_multi.txt"))
    if got != FILES["multi.txt"]:
        fail("client_multi.txt: " + ("missing" if got is None else _diff(got, FILES["multi.txt"])))
