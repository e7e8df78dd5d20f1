"""Sticky packets: framed-server and framed-client.

Sheet: "## Sticky packets" in course-pack.md (notes 001 §4 黏包, 000 §1.1.1).
Every message is a 4-byte unsigned big-endian length and that many bytes of
UTF-8 payload.  TCP keeps no message boundaries, so each check makes the bytes
arrive in a shape that breaks programs that assume one recv() is one message:
several frames in one write, one frame in pieces, one byte at a time, 1 MiB,
an empty payload, 100 frames pipelined, a close in the middle of a frame.

Byte order.  Most real programs that get framing wrong pack the length
little-endian (``struct.pack('i', n)``, native order on x86), on both sides.
Such a program is graded in its own byte order, so the one deviation costs
one check, not all of them: a server whose source reads its lengths only
little-endian is spoken to little-endian in the shape checks, one whose
source writes them only little-endian has its replies read little-endian
there (a server may get one side right and the other wrong), and the
"big-endian" check grades the sheet's order both ways; a client whose request
headers are little-endian and whose source reads little-endian gets
little-endian replies, and the "header-length" check grades what it sends.

Sizes.  Students read with recv(512), recv(1024), recv(4096) or recv(65536);
a frame that ends just past such a read is split by the program's own
buffer, whatever the peer's writes.  The shape checks carry frames of 2 bytes
under each of those sizes (so header and payload cross it by 2), 64 KiB and
1 MiB; the client's header check types lines of those lengths up to 4094
bytes (every line is typed at once: a pipe holds 64 KiB).

Time.  A frame's pieces come 40 ms apart (20 ms one byte at a time), and in
the pieces checks one part comes late, LATE_S after the one before: a
program that takes a second's silence inside a frame for its end has not
read the frame the header announced.
The grader's peer is a TCP socket inside the check's sandbox; every write it
made, how it was shaped, and what came back are in the evidence.  Each program
also gets one "interop" check (level extra) against our reference counterpart.
"""
from __future__ import annotations

import functools
import hashlib
import re
import struct
import sys

from netgrade.checks import (
    FrameDecoder,
    FrameTooLarge,
    Msg,
    N_,
    PeerError,
    ShapedPeer,
    TcpConn,
    TcpListener,
    TcpPeer,
    at,
    check,
    describe_encoding_mismatch,
    ended_note,
    exits_zero,
    fail,
    framing,
    naming_encoding_faults,
    no_crash,
    plural,
    prints,
    run_input_hint,
    short,
    show_bytes,
    target_of,
)

MIB = 1024 * 1024


def big_payload(size: int = MIB) -> bytes:
    """``size`` bytes of UTF-8 text, numbered so a lost or repeated piece shows.

    Three-byte characters make every read boundary likely to fall inside a
    character, as real Chinese text does.
    """
    data = _numbered_text(max(size, MIB))[:size]
    # cut back to a character boundary (the one cut character is the only invalid part), pad with ASCII
    data = data.decode("utf-8", "ignore").encode("utf-8")
    return data + b"." * (size - len(data))


@functools.cache
def _numbered_text(size: int) -> bytes:
    """At least ``size`` bytes of numbered pieces ("<000123>黏包", 14 bytes each), made once per grading
    worker (every payload is a prefix of it)."""
    count = size // 14 + 1
    if count > 10**6:
        raise ValueError(f"a numbered payload of {size} bytes would need 7-digit numbers")
    return "".join([f"<{i:06d}>黏包" for i in range(count)]).encode("utf-8")


BIG = big_payload()
BUFFERS = (512, 1024, 4096, 65536)  # the recv() sizes students pick
# one payload per size, 2 bytes short of it: its frame is 2 bytes longer than that size on the wire
SIZED = [big_payload(b - 2) for b in BUFFERS]
LATE_S = 1.0  # the pause before a late piece


def shown(payload: bytes | str, limit: int = 48) -> str:
    """A payload in a message: whole when short, else its start and its length."""
    text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
    if len(text) <= limit:
        return repr(text)
    size = Msg(N_("{n_payload} bytes"),
            {"n_payload": len(payload)}) if isinstance(payload, bytes) else Msg(N_("{n_encode} UTF-8 bytes"),
            {"n_encode": len(text.encode())})
    return Msg(N_("{text}… ({size})"),
            {"text": repr(text[:limit // 2]), "size": size})


def first_difference(a: bytes, b: bytes) -> int:
    for i in range(0, min(len(a), len(b)), 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(i + 4096, len(a), len(b))):
                if a[j] != b[j]:
                    return j
    return min(len(a), len(b))


def describe_payloads(got: list[bytes], limit: int = 3) -> str:
    if not got:
        return Msg(N_("none"))
    shown = Msg.joined(", ", (Msg(N_("{bytes} ({size} bytes)"), {"bytes": show_bytes(g, 40), "size": len(g)})
                              for g in got[:limit]))
    return shown + (Msg(N_(", … ({count} in all)"), {"count": len(got)}) if len(got) > limit else "")


# ================================================================== byte order

BE, LE = "!", "<"  # struct byte-order characters of the two header orders
NATIVE = LE if sys.byteorder == "little" else BE
_ORDER_CHAR = {"!": BE, ">": BE, "<": LE, "=": NATIVE, "@": NATIVE, "": NATIVE}
_STRUCT_CALL = re.compile(r"\b(unpack_from|iter_unpack|unpack|pack_into|pack|Struct)\(\s*[rbuRBU]*(['\"])([@=<>!]?)")
_INT_BYTES = re.compile(r"\b(from_bytes|to_bytes)\(([^()]*)\)")


def byte_orders(source: str, reading: bool) -> set[str]:
    """Byte orders of the literal struct formats (and int.from_bytes/to_bytes) a program reads or writes with."""
    found = set()
    for m in _STRUCT_CALL.finditer(source):
        call = m.group(1)
        if call == "Struct" or call.startswith("unpack") or call == "iter_unpack":
            if call == "Struct" or reading:
                found.add(_ORDER_CHAR[m.group(3)])
        elif not reading:
            found.add(_ORDER_CHAR[m.group(3)])
    for m in _INT_BYTES.finditer(source):
        if (m.group(1) == "from_bytes") == reading:
            if "little" in m.group(2):
                found.add(LE)
            elif "big" in m.group(2):
                found.add(BE)
    return found


def program_source(program) -> str:
    path = program.root / program.located.file if program.located.file else None
    try:
        return path.read_bytes().decode("utf-8", "replace") if path is not None else ""
    except OSError:
        return ""


def reads_little_endian(program) -> bool:
    """The program's source reads lengths little-endian (or native on x86) and never big-endian."""
    return byte_orders(program_source(program), reading=True) == {LE}


class LittleEndianDecoder(FrameDecoder):
    """FrameDecoder for 4-byte little-endian lengths (a program graded in its own byte order)."""

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            if self._need is None:
                if len(self._buf) < 4:
                    return out
                length = struct.unpack_from("<I", self._buf)[0]
                if length > self.max_payload:
                    raise FrameTooLarge(length, self.max_payload, bytes(self._buf[:4]))
                self._need = length
            end = 4 + self._need
            if len(self._buf) < end:
                return out
            out.append(bytes(self._buf[4:end]))
            del self._buf[:end]
            self._need = None
            self.frames += 1


class FramePeer(ShapedPeer):
    """A ShapedPeer that frames in one header byte order and reads the program's frames in another
    (``reply_order``, by default the same)."""

    def __init__(self, conn: TcpConn, order: str = BE, adapt: bool = False, reply_order: str | None = None) -> None:
        super().__init__(conn)
        self.order = BE
        self.adapt = adapt  # may switch to little-endian once the client's first header shows it
        if order == LE and reply_order in (None, LE):
            self.use_little_endian(Msg(N_("its source reads lengths only little-endian")))
        elif order == LE:
            self.order = LE
            self.note(Msg(N_("writing little-endian length headers: its source reads lengths only little-endian; "
                             "its replies are read big-endian; the byte order itself is graded by one check only")))
        elif reply_order == LE:
            self.decoder = LittleEndianDecoder(self.decoder.max_payload)
            self.note(Msg(N_("reading its replies' length headers little-endian: its source writes lengths only "
                             "little-endian; the byte order itself is graded by one check only")))

    def use_little_endian(self, why: Msg) -> None:
        if self.order != LE:
            self.order = LE
            self.decoder = LittleEndianDecoder(self.decoder.max_payload)
            self.note(Msg(N_("speaking little-endian length headers: {why}; the byte order itself is graded by one"
                             " check only"), {"why": why}))

    def frame(self, payload: bytes) -> bytes:
        return struct.pack(self.order + "I", len(payload)) + payload

    def frames(self, payloads) -> bytes:
        return b"".join(self.frame(p) for p in payloads)


# ================================================================== framed-server

def server_order(program) -> str:
    return LE if reads_little_endian(program) else BE


def server_orders(program) -> dict[str, str]:
    """The header orders to speak to a server in the shape checks: what it reads, and what it writes
    (the one order its source writes lengths in; else, as one that echoes headers would, what it reads)."""
    order = server_order(program)
    writes = byte_orders(program_source(program), reading=False)
    return {"order": order, "reply_order": writes.pop() if len(writes) == 1 else order}


def connect(sandbox, run, limits, label: str = "client", after: str = "", order: str = BE,
            reply_order: str | None = None) -> FramePeer:
    try:
        conn = TcpPeer.connect(sandbox, target_of(run.listener), limits.step_s, label=label)
    except PeerError as exc:
        run.wait_exit(0.5)  # a refused connection often means the server is just dying
        if not run.running:
            fail(N_("{after}the server crashed: {crash}"),
                 after=after, crash=run.crash_summary())
        fail(N_("could not connect to the server: {exc}"),
             exc=exc)
    return FramePeer(conn, order, reply_order=reply_order)


def expect_replies(peer: ShapedPeer, run, want: list[bytes], timeout: float, sent: str) -> None:
    """Exactly the payloads ``want``, in order; the message tells the shape and the outcome."""
    got = peer.read_replies(len(want), timeout)
    if got == want:
        return
    if peer.conn.ended:
        run.wait_exit(0.5)  # the connection closed: let a crashing server finish, for its traceback
    seen = peer.describe_replies(got)
    ended = ended_note(run, Msg(N_("the server")))
    if len(want) > 1 and len(got) == 1 and got[0] == b"".join(want):
        why = Msg(N_(": the server treated the stream as one message (one recv() is not one message)"))
    elif len(got) < len(want) and all(g in want for g in got):
        why = Msg(N_(": {plural} got no reply"),
                {"plural": plural(len(want) - len(got), 'message')})
    elif len(got) == 1 and len(want) == 1 and got[0] and want[0].startswith(got[0]):
        why = (Msg(N_(": the reply holds only the first {n_got} of {n_want} bytes (the server took a short read for "
                    "the whole message)"),
                {"n_got": len(got[0]), "n_want": len(want[0])}))
    else:
        why = ""
        for g, w in zip(got, want):
            encoding = describe_encoding_mismatch(w.decode("utf-8", "replace"), g)
            if encoding:
                why = Msg(N_(": the server {encoding}"),
                        {"encoding": encoding})
                break
    waiting = "" if got else run_input_hint(run)
    fail(N_("sent {sent}; expected {plural} {payloads}; got "
            "{seen}{got_payloads}{why}{ended}{waiting}"),
         sent=sent, plural=plural(len(want), 'reply'), payloads=describe_payloads(want), seen=seen,
         got_payloads=Msg(N_(": {payloads}"),
                {"payloads": describe_payloads(got)}) if got else "", why=why, ended=ended, waiting=waiting)


def no_early_reply(peer: ShapedPeer, sent: str) -> None:
    if peer.early:
        fail(N_("sent {sent}; the server sent {early} bytes back before the message was complete: it answers pieces "
                "as they arrive instead of reading whole frames (header, then exactly that many bytes)"),
             sent=sent, early=peer.early)


TWO = [b"first message", "第二条消息".encode()]
SPLIT = [b"frame C", "帧 D".encode()]


@check("framed-server", "must", "two messages written in one send give two replies", id="two-in-one-write",
       sheet="001 §4",
       hint=N_("Keep a buffer: after each recv(), cut out every complete frame (header + length bytes), "
               "keep the rest for the next one."))
def test_framed_server_two_in_one_write(sandbox, program, limits):
    run = program.start_server()
    peer = connect(sandbox, run, limits, **server_orders(program))
    wire = peer.frames(TWO)
    peer.write(wire, Msg(N_("2 frames")))
    expect_replies(peer, run, TWO, limits.step_s, Msg(N_("2 frames in one write ({n_wire} bytes)"),
            {"n_wire": len(wire)}))
    # a frame plus the first 2 bytes of the next header, then the rest of that frame
    c, d = peer.frame(SPLIT[0]), peer.frame(SPLIT[1])
    peer.write_pieces([c + d[:2], d[2:]], Msg(N_("a frame plus half of the next header, then the rest")))
    expect_replies(peer, run, SPLIT, limits.step_s,
                   Msg(N_("a frame plus the first 2 bytes of the next header in one write ({first} bytes), then the "
                "remaining {rest} bytes"),
            {"first": len(c) + 2, "rest": len(d) - 2}))
    for pair in (SIZED[:2], SIZED[2:]):  # two by two: more in one write is the pipelined line's
        wire = peer.frames(pair)
        sizes = " and ".join(str(len(p)) for p in pair)
        peer.write(wire, f"2 frames of {sizes} payload bytes")
        expect_replies(peer, run, pair, limits.step_s,
                       Msg(N_("2 frames of {sizes} payload bytes in one write ({n_wire} bytes; each frame 2 bytes longer than "
                    "a recv() size students pick, 512, 1024, 4096 or 65536)"),
                {"sizes": sizes, "n_wire": len(wire)}))


PIECES = "one message in several pieces: 分几次到达的一条消息".encode()


@check("framed-server", "must", "one message written in several pieces gives one reply", id="pieces", sheet="001 §4",
       hint=N_("recv(n) may return fewer than n bytes: read the header, then loop until all n payload bytes "
               "are in."))
def test_framed_server_pieces(sandbox, program, limits):
    run = program.start_server()
    peer = connect(sandbox, run, limits, **server_orders(program))
    wire = peer.frame(PIECES)
    cuts = [4, 4 + 10, 4 + 25, len(wire)]  # the header alone, then the payload in three parts
    parts = [wire[a:b] for a, b in zip([0] + cuts[:-1], cuts)]
    sent = Msg(N_("one {n_wire}-byte frame in {n_parts} writes (the 4-byte header alone, then the payload in 3 parts)"),
            {"n_wire": len(wire), "n_parts": len(parts)})
    peer.write_pieces(parts, Msg(N_("one frame: the header alone, then the payload in 3 parts")))
    no_early_reply(peer, sent)
    expect_replies(peer, run, [PIECES], limits.step_s, sent)
    extra = peer.read_replies(1, 0.05)
    if extra:
        fail(N_("sent {sent}; expected one reply, got more: {payloads}"),
             sent=sent, payloads=describe_payloads([PIECES] + extra))
    late_pieces(peer, run, SIZED[2], limits)


def late_pieces(peer: FramePeer, run, payload: bytes, limits) -> None:
    """``payload`` framed, in three writes: the header and 1000 bytes, 2000 bytes, and LATE_S later
    the rest; exactly one reply, none before the last part."""
    wire = peer.frame(payload)
    parts = [wire[:1004], wire[1004:3004], wire[3004:]]
    sent = (Msg(N_("one {n_wire}-byte frame in 3 writes ({sizes_of} bytes), the last one {late_s:g} s after the one "
                "before (a late piece)"),
            {"n_wire": len(wire), "sizes_of": sizes_of(parts), "late_s": LATE_S}))
    peer.write_pieces(parts, Msg(N_("one frame, its last part late")), gaps=[0.04, LATE_S])
    if peer.early:
        fail(N_("sent {sent}; during the pause the server sent {early} bytes back, before the frame was complete: it "
                "took {late_s:g} s of silence for the end of the message; the header says how many bytes to wait for"),
             sent=sent, early=peer.early, late_s=LATE_S)
    expect_replies(peer, run, [payload], limits.step_s, sent)
    extra = peer.read_replies(1, 0.05)
    if extra:
        fail(N_("sent {sent}; expected one reply, got more: {payloads}"),
             sent=sent, payloads=describe_payloads([payload] + extra))


def sizes_of(parts: list[bytes]) -> str:
    return ", ".join(str(len(p)) for p in parts)


TRICKLE = "黏 bytes".encode()


@check("framed-server", "must", "one message written one byte at a time (header included) gives one reply",
       id="byte-by-byte",
       sheet="001 §4",
       hint=N_("The header can arrive in pieces too: read exactly 4 bytes (looping), then exactly n bytes."))
def test_framed_server_byte_by_byte(sandbox, program, limits):
    run = program.start_server()
    peer = connect(sandbox, run, limits, **server_orders(program))
    wire = peer.frame(TRICKLE)
    sent = Msg(N_("one {n_wire}-byte frame one byte per write"),
            {"n_wire": len(wire)})
    peer.trickle(wire, Msg(N_("one frame")))
    no_early_reply(peer, sent)
    got = peer.read_replies(1, limits.step_s)
    if not got and peer.conn.ended:
        fail(N_("sent {sent}; the server closed the connection ({how}) without a reply: the frame came one byte "
                "per read, its 4-byte header in 4 reads; read the header, then the payload, in a loop until every "
                "byte is in, however many reads that takes{ended}"),
             sent=sent, how=peer.conn.ended.upper(), ended=ended_note(run, N_("the server")))
    peer.replies[:0] = got  # give it back to expect_replies
    expect_replies(peer, run, [TRICKLE], limits.step_s, sent)


@check("framed-server", "must", "a 1 MiB message comes back whole", id="one-mib", sheet="001 §4",
       hint=N_("Loop on recv() until all n bytes are in (one recv() returns at most what has arrived), "
               "and reply with sendall()."))
def test_framed_server_one_mib(sandbox, program, limits):
    run = program.start_server()
    peer = connect(sandbox, run, limits, **server_orders(program))
    k64 = big_payload(65536)
    peer.write(peer.frame(k64), Msg(N_("one frame of 65536 payload bytes")))
    expect_replies(peer, run, [k64], limits.step_s, Msg(N_("one frame of 65536 payload bytes (64 KiB) in one write")))
    wire = peer.frame(BIG)
    sent = Msg(N_("one frame of {n_big} bytes (1 MiB, sha256 {hexdigest}…)"),
            {"n_big": len(BIG), "hexdigest": hashlib.sha256(BIG).hexdigest()[:12]})
    if not peer.send_big(wire, Msg(N_("one 1 MiB frame")), limits.step_s):
        ended = ended_note(run, Msg(N_("the server")))
        fail(N_("could not write {sent}: the server stopped reading{ended}"),
             sent=sent, ended=ended)
    got = peer.read_replies(1, limits.step_s)
    if got and got[0] == BIG:
        return
    ended = ended_note(run, Msg(N_("the server")))
    if not got:
        fail(N_("sent {sent}; expected it back whole; got {replies}{ended}"),
             sent=sent, replies=peer.describe_replies(got), ended=ended)
    r = got[0]
    fail(N_("sent {sent}; the first reply has {n_r} bytes (sha256 {hexdigest}…), differing from byte "
            "{first_difference} on: the server replied before the whole payload was in (reply: "
            "{replies}){ended}"),
         sent=sent, n_r=len(r), hexdigest=hashlib.sha256(r).hexdigest()[:12],
         first_difference=first_difference(r, BIG), replies=peer.describe_replies(got), ended=ended)


@check("framed-server", "must", "a zero-length message gives a zero-length reply", id="zero-length", sheet="001 §4",
       hint=N_("An empty payload is a message (header 00 00 00 00); only an empty recv() means the client "
               "closed."))
def test_framed_server_zero_length(sandbox, program, limits):
    run = program.start_server()
    peer = connect(sandbox, run, limits, **server_orders(program))
    peer.write(peer.frame(b""), Msg(N_("a zero-length frame")))
    got = peer.read_replies(1, limits.step_s)
    if got != [b""]:
        closed = (Msg(N_(": it took the empty message for the end of the stream"))
                  if peer.conn.ended else "")
        ended = ended_note(run, Msg(N_("the server")))
        fail(N_("sent a zero-length frame (00 00 00 00); expected the reply 00 00 00 00; got "
                "{replies}{closed}{ended}"),
             replies=peer.describe_replies(got), closed=closed, ended=ended)
    after = b"after the empty one"
    peer.write(peer.frame(after), Msg(N_("a normal frame after the empty one")))
    got = peer.read_replies(1, limits.step_s)
    if got != [after]:
        fail(N_("after the zero-length message, sent {bytes}; expected its reply; got {replies}"),
             bytes=show_bytes(after), replies=peer.describe_replies(got))
    pair = [b"", "之后 after".encode()]  # two frames: more in one write is the pipelined line's
    wire = peer.frames(pair)
    peer.write(wire, Msg(N_("a zero-length frame and a frame")))
    got = peer.read_replies(2, limits.step_s)
    if got != pair:
        alone = (Msg(N_(": an empty message alone in its read is answered, one that shares a read with the next is not"))
                 if got == pair[1:] else "")
        fail(N_("sent a zero-length frame and a frame in one write ({hex}); expected 2 replies {payloads}; "
                "got {replies}{got_payloads}{alone}"),
             hex=wire.hex(' '), payloads=describe_payloads(pair),
             replies=peer.describe_replies(got),
             got_payloads=Msg(N_(": {payloads}"),
                    {"payloads": describe_payloads(got)}) if got else "", alone=alone)


PIPELINED = [f"pipelined #{i:03d} 第{i}条 ".encode() + b"x" * (i * 7 % 40) for i in range(100)]


@check("framed-server", "must", "100 pipelined messages give 100 replies in order", id="pipelined", sheet="001 §4",
       hint=N_("After one recv(), handle every complete frame in the buffer, not just the first one or two."))
def test_framed_server_pipelined(sandbox, program, limits):
    run = program.start_server()
    peer = connect(sandbox, run, limits, **server_orders(program))
    wire = peer.frames(PIPELINED)
    peer.write(wire, Msg(N_("100 frames")))
    got = peer.read_replies(100, limits.step_s)
    if got == PIPELINED:
        return
    ended = ended_note(run, Msg(N_("the server")))
    if len(got) < 100 and got == PIPELINED[:len(got)]:
        fail(N_("sent 100 frames in one write ({n_wire} bytes) without waiting; got only the first {n_got} replies "
                "({replies}); the rest never came{ended}"),
             n_wire=len(wire), n_got=len(got), replies=peer.describe_replies(got), ended=ended)
    bad = next((i for i, (g, w) in enumerate(zip(got, PIPELINED)) if g != w), len(got))
    fail(N_("sent 100 frames in one write ({n_wire} bytes); reply #{bad} should be {bytes}, got "
            "{got} ({replies}){ended}"),
         n_wire=len(wire), bad=bad, bytes=show_bytes(PIPELINED[bad], 60),
         got=show_bytes(got[bad], 60) if bad < len(got) else Msg(N_("nothing")),
         replies=peer.describe_replies(got), ended=ended)


@check("framed-server", "should", "a client that closes mid-frame is dropped; the next client is served",
       id="mid-frame-close",
       sheet="001 §4",
       hint=N_("An empty recv() in the middle of a frame means the client left: close that connection and "
               "go back to accept(); don't loop on b'' or unpack a short header."))
def test_framed_server_mid_frame_close(sandbox, program, limits):
    run = program.start_server()
    orders = server_orders(program)
    order = orders["order"]
    shapes = [
        (N_("half a header (2 bytes)"), struct.pack(order + "I", 14)[:2]),
        (N_("a header announcing 100 bytes and only 10 of them"), struct.pack(order + "I", 100) + b"0123456789"),
    ]
    for what, data in shapes:
        quitter = connect(sandbox, run, limits, label="quitter", **orders)
        quitter.write(data, Msg(what))
        quitter.conn.close()
        what = Msg(N_("{what} and closed"),
                {"what": Msg(what)})
        # the next client is served: proof that the server is neither dead nor stuck
        peer = connect(sandbox, run, limits, label=Msg(N_("next client")), after=Msg(N_("a client sent {what}; "),
                       {"what": what}),
                       **orders)
        probe = "下一个 client".encode()
        peer.write(peer.frame(probe), Msg(N_("one frame")))
        got = peer.read_replies(1, limits.step_s)
        if got and got != [probe]:
            try:  # the quitter's bytes and this frame as one stream, read the way the server reads
                kept = (LittleEndianDecoder() if order == LE else FrameDecoder()).feed(data + peer.frame(probe))
            except FrameTooLarge:
                kept = []
            if kept and got == kept[:len(got)]:
                fail(N_("a client sent {what}; the next client sent {bytes} and got {payloads}: what the "
                        "quitter's leftover bytes followed by this frame decode to; the buffer was kept from the "
                        "client before: start an empty one for each connection"),
                     what=what, bytes=show_bytes(probe), payloads=describe_payloads(got))
        if got != [probe]:
            if peer.conn.ended:
                run.wait_exit(0.5)  # closed on us: give a crashing server time to finish
            if not run.running:
                fail(N_("a client sent {what}; the server crashed: {crash}"),
                     what=what, crash=run.crash_summary())
            share = run.cpu_share(0.2)
            how = Msg(N_(", spinning at {share:.0%} CPU (looping on recv() returning b'')"),
                    {"share": share}) if share > 0.5 else ""
            fail(N_("a client sent {what}; the next client sent {bytes} and got {replies}{how}"),
                 what=what, bytes=show_bytes(probe), replies=peer.describe_replies(got), how=how)
        peer.conn.close()
    no_crash(run, Msg(N_("after clients closed in the middle of a frame")))


ORDER_PROBE = "大端 big-endian".encode()


@check("framed-server", "must", "reads and writes the sheet's big-endian length header", id="big-endian",
       sheet="001 §4",
       hint=N_("struct.unpack('!I', header) and struct.pack('!I', n): '!' is network (big-endian) order; "
               "'i' or 'I' alone is the machine's order, little-endian on a PC."))
def test_framed_server_big_endian(sandbox, program, limits):
    run = program.start_server()
    peer = connect(sandbox, run, limits)  # the sheet's order, whatever the source says
    wire = framing.encode(ORDER_PROBE)
    peer.write(wire, Msg(N_("one frame with a big-endian header")))
    got = peer.read_replies(1, limits.step_s)
    if got == [ORDER_PROBE]:
        return
    sent = Msg(N_("one frame with the big-endian header {hex} (= {value})"),
            {"hex": wire[:4].hex(' '), "value": len(ORDER_PROBE)})
    if peer.garbage is not None and struct.unpack("<I", peer.garbage.header)[0] == len(ORDER_PROBE):
        fail(N_("sent {sent}; the reply's header is {hex}: {value} in little-endian order; the sheet's "
                "header is big-endian, struct.pack('!I', n)"),
             sent=sent, hex=peer.garbage.header.hex(' '), value=len(ORDER_PROBE))
    if got or peer.garbage is not None or not run.running or peer.conn.ended:
        ended = ended_note(run, Msg(N_("the server")))
        fail(N_("sent {sent}; expected the same payload back in one big-endian frame; got "
                "{replies}{got_payloads}{ended}"),
             sent=sent, replies=peer.describe_replies(got),
             got_payloads=Msg(N_(": {payloads}"),
                    {"payloads": describe_payloads(got)}) if got else "", ended=ended)
    # No reply: a server reading little-endian takes the header for a huge length and waits for it.
    # A second run is sent the same frame little-endian; an answer at once says so.
    peer.conn.abort()  # a reset leaves no TIME_WAIT behind for the second run's bind
    run.kill()
    again = program.start_server()
    probe = connect(sandbox, again, limits, label=Msg(N_("second client")), order=LE)
    probe.write(probe.frame(ORDER_PROBE), Msg(N_("the same frame with a little-endian header")))
    answer = probe.read_replies(1, limits.step_s)
    if answer == [ORDER_PROBE]:
        le_value = struct.unpack("<I", wire[:4])[0]
        fail(N_("sent {sent}; no reply within {step_s:g} s: the server reads the length little-endian (native "
                "'i'/'I' or '<I'), so to it {hex} means {le_value} bytes and it waits for them. A second run "
                "answered the same frame with the little-endian header {hex2} at once; the sheet's header is "
                "big-endian: struct.pack('!I', n) / struct.unpack('!I', header)"),
             sent=sent, step_s=limits.step_s, hex=wire[:4].hex(' '), le_value=le_value,
             hex2=struct.pack('<I', len(ORDER_PROBE)).hex(' '))
    fail(N_("sent {sent}; no reply within {step_s:g} s (nor to the same frame little-endian, in a second run)"),
         sent=sent, step_s=limits.step_s)


@check("framed-server", "extra", "interop: the reference client gets its replies", id="with-reference", sheet="001 §4")
def test_framed_server_with_reference(sandbox, program, reference, limits):
    run = program.start_server()
    client = reference.start("framed-client", stdin=["参考客户端 interop", "second line", "exit"], args=at(run))
    prints(client, "参考客户端 interop\n", limits.step_s, Msg(N_("the reference client prints the first reply")))
    prints(client, "second line\n", limits.step_s, Msg(N_("the reference client prints the second reply")))


# ================================================================== framed-client

def accept(listener: TcpListener, run, limits, program=None) -> FramePeer:
    """The client's connection; replies go little-endian once its first header shows that it
    writes little-endian, when its source also reads little-endian (``take_request``)."""
    conn = listener.accept(limits.step_s)
    if conn is None:
        ended = ended_note(run, Msg(N_("it")))
        fail(N_("expected the client to connect to 127.0.0.1:{port} within {step_s:g} s; it did not{ended}"),
             port=listener.port, step_s=limits.step_s, ended=ended)
    return FramePeer(conn, adapt=program is not None and reads_little_endian(program))


def header_problem(header: bytes, line: str, payload: bytes | None = None) -> str:
    """Why a 4-byte header is wrong for ``line`` ('' if it is right); ``payload``: what followed it."""
    want = len(line.encode("utf-8"))
    if header == struct.pack("!I", want):
        return ""
    big, little = struct.unpack("!I", header)[0], struct.unpack("<I", header)[0]
    base = (Msg(N_("for the line {shown} ({n_line} characters, {want} UTF-8 bytes) the header should be {hex} (= "
                "{want}, big-endian '!I'); the client sent {hex2}"),
            {"shown": shown(line), "n_line": len(line), "want": want, "hex": struct.pack('!I', want).hex(' '),
             "hex2": header.hex(' ')}))
    if little == want:
        return Msg(N_("{base}: that is {want} in little-endian (native) byte order: use '!I', not '<I' or 'I'"),
                {"base": base, "want": want})
    if big == len(line) and len(line) != want:
        return Msg(N_("{base} (= {big}): the number of characters, len(str); count the bytes: len(line.encode())"),
                {"base": base, "big": big})
    if little == len(line) and len(line) != want:
        return Msg(N_("{base}: that is {n_line} characters, little-endian: use len(line.encode()) and '!I'"),
                {"base": base, "n_line": len(line)})
    if big == want + 1:
        return Msg(N_("{base} (= {big}): the newline is counted (and sent?); strip it"),
                {"base": base, "big": big})
    if line.encode("utf-8").startswith(header):
        return Msg(N_("{base}: the first bytes of the line itself ({text}): the client sends the "
                    "line without a length header"),
                {"base": base, "text": repr(header.decode('utf-8', 'replace'))})
    if payload is not None and describe_encoding_mismatch(line, payload) and len(payload) in (big, little):
        return Msg(N_("{base} (= {n_payload}): the length of the line in another encoding (see its payload)"),
                {"base": base, "n_payload": len(payload)})
    return Msg(N_("{base} (= {big} big-endian, {little} little-endian)"),
            {"base": base, "big": big, "little": little})


QUIET_S = 0.3  # after a wrong header: how long the rest of the frame may take to come


def take_request(peer: FramePeer, run, line: str, limits, unsent: str = "") -> bytes:
    """The frame the client sends for ``line`` (header + payload); the header is checked elsewhere.

    Read by the expected size when the header announces it, in either byte
    order.  A header that announces something else (characters counted, a
    GBK payload) is not trusted: what the client sends for the line is read
    up to the expected size, and the checks describe it.
    """
    want = framing.encode(line.encode("utf-8"))
    conn = peer.conn
    header = conn.recv_exactly(4, limits.step_s)
    data = None
    if header is not None:
        n = len(want) - 4
        if header in (struct.pack("!I", n), struct.pack("<I", n)):
            body = conn.recv_exactly(n, limits.step_s)
        else:
            got = conn.recv_until(lambda buf: len(buf) >= n, QUIET_S)
            if got is not None:  # all of it came (recv_until hands out the whole buffer): keep the rest
                conn.pending[:0] = got
            body = bytes(conn.pending[:n]) or None
            del conn.pending[:n]
        if body is not None or n == 0:
            data = header + (body or b"")
        else:
            conn.pending[:0] = header
    if data is None:
        got = bytes(conn.pending)
        ended = ended_note(run, Msg(N_("it")))
        closed = Msg(N_("; it closed the connection")) if conn.ended else ""
        fail(N_("expected the client to send the line {shown} as a {n_want}-byte frame ({hex} + {n_payload} bytes); "
                "got {n_got} bytes {bytes}{closed}{ended}{unsent}"),
             shown=shown(line), n_want=len(want), hex=want[:4].hex(' '), n_payload=len(want) - 4, n_got=len(got),
             bytes=show_bytes(got, 60), closed=closed, ended=ended, unsent=unsent if not got else '')
    if peer.adapt and data[:4] == struct.pack("<I", len(want) - 4) != want[:4]:
        peer.use_little_endian(Msg(N_("its request headers are little-endian and its source reads lengths "
                                      "little-endian")))
    return data


def start_client(sandbox, program, lines: list[str], close: bool = False):
    listener = TcpListener(sandbox, program.port, label="server")  # before the client starts
    run = program.start(stdin=lines, close_stdin=close)
    return listener, run


@check("framed-client", "must", "each header equals the payload's UTF-8 byte length (Chinese too)", id="header-length",
       sheet="001 §4",
       hint=N_("data = line.encode('utf-8'); send struct.pack('!I', len(data)) + data."))
def test_framed_client_header_length(sandbox, program, limits):
    """Sheet (framed-client, must): "each frame's length header equals the payload's UTF-8 byte length
    (Chinese text included)".  Typed: ASCII, Chinese and mixed lines, then lines of 510, 1022 and 4094
    UTF-8 bytes (Chinese among them; lengths that need two header bytes, around the recv() sizes; all
    lines are typed at once, so they stay within a pipe's 64 KiB).  Accepted: header ==
    struct.pack('!I', len(line.encode())), payload == the line's bytes."""
    lines = ["hello", "你好，黏包问题", "mixed 中文 text"] + [p.decode() for p in SIZED[:3]]
    listener, run = start_client(sandbox, program, lines + ["exit"])
    peer = accept(listener, run, limits, program)
    for line in lines:
        data = take_request(peer, run, line, limits)
        problem = header_problem(data[:4], line, data[4:])
        encoding = describe_encoding_mismatch(line, data[4:])
        if encoding:
            fail(N_("for the line {shown} the client {encoding}{problem}"),
                 shown=shown(line), encoding=encoding,
                 problem=Msg(N_("; and {problem}"),
                        {"problem": problem}) if problem else "")
        if problem:
            fail(problem)
        if data[4:] != line.encode("utf-8"):
            fail(N_("for the line {shown} the payload should be {bytes}; got {bytes2}"),
                 shown=shown(line), bytes=show_bytes(line.encode()), bytes2=show_bytes(data[4:]))
        short_reply = line.encode() if len(line.encode()) < 256 else b"ok"  # replies are other checks' business
        peer.write(peer.frame(short_reply), Msg(N_("the reply")))


def printed_whole(run, payload: str, limits, how: str) -> None:
    """``payload`` printed once, whole, on its own line."""
    with naming_encoding_faults(payload, output=lambda: run.out):
        _printed_whole(run, payload, limits, how)


def _printed_whole(run, payload: str, limits, how: str) -> None:
    if not run.wait_output(payload + "\n", limits.step_s):
        lines = [ln for ln in run.out.splitlines() if ln.strip()]
        parts = [ln for ln in lines if is_piece(ln, payload)]
        ended = ended_note(run, Msg(N_("it")))
        if parts:
            fail(N_("the reply {shown} was delivered {how}; the client printed pieces of it: {join}{ended}"),
                 shown=shown(payload), how=how, join=Msg.joined(", ", (shown(p) for p in parts[:6])), ended=ended)
        fail(N_("the reply {shown} was delivered {how}; expected it printed whole on its own line; output was: "
                "{output}{ended}"),
             shown=shown(payload), how=how, output=short(run.out.strip(), 300) or Msg(N_("(nothing)")),
             ended=ended)


def is_piece(line: str, payload: str) -> bool:
    """Is the output ``line`` a piece of ``payload`` printed on its own?  Of a long payload, a line of a
    character or three (a prompt such as '> ' left on the last line) is not taken for one."""
    text = line.strip()
    if not text or text == payload or text not in payload:
        return False
    return len(payload) <= 64 or len(text) >= 4


def printed_once(run, payload: str, how: str) -> None:
    n = run.out.count(payload)
    if n != 1:
        fail(N_("the reply {shown} was delivered {how}; expected it printed once, it was printed {n} times"),
             shown=shown(payload), how=how, n=n)
    parts = [ln for ln in run.out.splitlines() if is_piece(ln, payload)]
    if parts:
        fail(N_("the reply {shown} was delivered {how}; besides the whole payload the client printed pieces of it: "
                "{join}"),
             shown=shown(payload), how=how, join=Msg.joined(", ", (shown(p) for p in parts[:6])))


@check("framed-client", "must", "a reply in pieces (header alone, payload in parts) is printed once, whole",
       id="reply-in-pieces",
       sheet="001 §4",
       hint=N_("After the header, loop until all n payload bytes are in; decode and print once."))
def test_framed_client_reply_in_pieces(sandbox, program, limits):
    """Sheet (framed-client, must): "each reply is printed once, whole, even when the server delivers it in
    pieces (the header alone, the payload in several parts ...)".  Replies: the header alone then the
    payload in 3 parts; the header with 14 payload bytes then the rest; a 4098-byte frame in 3 parts, the
    last LATE_S s after the one before (a late piece).  Accepted: each printed once, whole, on its line."""
    lines = ["reply in pieces: 回复分几次到达", "second reply: 头和第一部分一起, the rest later", SIZED[2].decode()]
    listener, run = start_client(sandbox, program, lines + ["exit"])
    peer = accept(listener, run, limits, program)
    shapes = []
    for i, line in enumerate(lines):
        take_request(peer, run, line, limits)
        p = line.encode()
        wire = peer.frame(p)
        gaps = None
        if i == 0:  # the header alone, then the payload in three parts (cut between characters)
            cuts = [0, 8, 20, len(p)]
            parts = [wire[:4]] + [p[a:b] for a, b in zip(cuts, cuts[1:])]
            how = Msg(N_("as the header alone, then the payload in 3 parts"))
        elif i == 1:  # the header with the start of the payload, then the rest
            parts = [wire[:4 + 14], wire[4 + 14:]]
            how = Msg(N_("as the header plus 14 payload bytes, then the rest"))
        else:  # a late piece: the last part after a pause of LATE_S
            parts, gaps = [wire[:1004], wire[1004:3004], wire[3004:]], [0.04, LATE_S]
            how = (Msg(N_("in 3 parts of {sizes_of} bytes, the last one {late_s:g} s after the one before (a late "
                        "piece)"),
                    {"sizes_of": sizes_of(parts), "late_s": LATE_S}))
        peer.write_pieces(parts, Msg(N_("the reply, {how}"), {"how": how}), gaps=gaps)
        printed_whole(run, line, limits, how)
        shapes.append((line, how))
    run.wait_exit(limits.step_s)
    for line, how in shapes:
        printed_once(run, line, how)


@check("framed-client", "must", "a reply delivered one byte at a time is printed once, whole", id="reply-byte-by-byte",
       sheet="001 §4",
       hint=N_("The header can arrive in pieces too: read exactly 4 bytes (looping), then exactly n bytes."))
def test_framed_client_reply_byte_by_byte(sandbox, program, limits):
    line = "trickled reply"
    listener, run = start_client(sandbox, program, [line, "exit"])
    peer = accept(listener, run, limits, program)
    take_request(peer, run, line, limits)
    peer.trickle(peer.frame(line.encode()), Msg(N_("the reply")))
    how = Msg(N_("one byte per write (header included)"))
    printed_whole(run, line, limits, how)
    run.wait_exit(limits.step_s)
    printed_once(run, line, how)


@check("framed-client", "must", "a 1 MiB reply is printed once, whole", id="one-mib-reply", sheet="001 §4",
       hint=N_("Loop until all n bytes are in, then decode the whole payload once (a character can be split "
               "between two reads)."))
def test_framed_client_one_mib_reply(sandbox, program, limits):
    line = "send me 1 MiB"
    listener, run = start_client(sandbox, program, [line, "exit"])
    peer = accept(listener, run, limits, program)
    take_request(peer, run, line, limits)
    before = run.stdout.total
    if not peer.send_big(peer.frame(BIG), Msg(N_("a 1 MiB reply")), limits.step_s):
        ended = ended_note(run, Msg(N_("it")))
        fail(N_("the client did not read a 1 MiB reply (it stopped reading){ended}"),
             ended=ended)
    ends = BIG[-64:].decode("utf-8", "ignore") + "\n"
    done = run.wait_output(ends, limits.step_s)
    run.wait_exit(limits.step_s if done else 0.0)
    head, tail, total = run.stdout_snapshot()
    ended = ended_note(run, Msg(N_("it")))
    k = 32768
    start = head.find(BIG[:k])
    if start < 0:
        at = head.find(BIG[:16])
        nl = head.find(b"\n", at) if at >= 0 else -1
        where = (Msg(N_("; a line break comes {nl_at} bytes into the payload: it printed a partial payload"),
                {"nl_at": nl - at})
                 if nl >= 0 else "")
        fail(N_("a 1 MiB reply ({n_big} bytes of UTF-8 text) was sent in one write; the output does not contain its "
                "first {k} bytes in one piece{where}{ended}"),
             n_big=len(BIG), k=k, where=where, ended=ended)
    end = tail.rfind(BIG[-k:] + b"\n") if done else -1
    if end < 0:
        fail(N_("a 1 MiB reply was sent in one write; the output does not contain its last {k} bytes followed by a "
                "newline ({total_before} bytes printed while handling it){ended}"),
             k=k, total_before=total - before, ended=ended)
    # the payload must fill exactly len(BIG) bytes between its first and last bytes in the output
    first_abs = start
    last_abs = total - len(tail) + end + k
    span = last_abs - first_abs
    if span != len(BIG):
        more = span - len(BIG)
        fail(N_("a 1 MiB reply ({n_big} bytes) was sent in one write; between its first and last bytes the client "
                "printed {span} bytes ({more:+d}): {why}{ended}"),
             n_big=len(BIG), span=span, more=more,
             why=Msg(N_("it printed the payload in pieces (a newline per recv?) or replaced split characters")) if more > 0 else Msg(N_("part of the payload is missing")),
             ended=ended)


@check("framed-client", "must", "exits 0 after end of input or 'exit' (which is not sent)", id="exits", sheet="001 §4",
       hint=N_("Stop on '' from readline() / EOFError from input(), and on 'exit' before sending it; close "
               "the socket and return."))
def test_framed_client_exits(sandbox, program, limits):
    listener = TcpListener(sandbox, program.port, label="server")
    # 1) end of input
    run = program.start(stdin=["one line then end of input"], close_stdin=True)
    peer = accept(listener, run, limits, program)
    take_request(peer, run, "one line then end of input", limits)
    peer.write(peer.frame(b"one line then end of input"), Msg(N_("the reply")))
    exits_zero(run, limits.step_s, Msg(N_("at the end of its input")))
    # 2) 'exit', with stdin left open: the word alone must end it, and is not sent
    run = program.start(stdin=["before exit", "exit"])
    peer = accept(listener, run, limits, program)
    take_request(peer, run, "before exit", limits,
                 unsent=Msg(N_(": the line holds 'exit' but is not 'exit'; only the line 'exit' itself ends the client")))
    peer.write(peer.frame(b"before exit"), Msg(N_("the reply")))
    exits_zero(run, limits.step_s, Msg(N_("after the line 'exit' (stdin still open)")))
    peer.conn.wait_close(limits.step_s)
    rest = bytes(peer.conn.pending)
    if rest:
        what = Msg(N_(" (the line 'exit' as a frame)")) if rest in (framing.encode(b"exit"), peer.frame(b"exit")) else ""
        fail(N_("'exit' must not be sent; after it the client sent {n_rest} more bytes {bytes}{what}"),
             n_rest=len(rest), bytes=show_bytes(rest, 40), what=what)


@check("framed-client", "extra", "interop: prints the reference server's replies", id="with-reference", sheet="001 §4")
def test_framed_client_with_reference(sandbox, program, reference, limits):
    reference.start("framed-server")
    run = program.start(stdin=["互通 interop", "exit"])
    prints(run, "互通 interop", limits.step_s, Msg(N_("the reply of the reference server")))
    exits_zero(run, limits.step_s, Msg(N_("after 'exit'")))
