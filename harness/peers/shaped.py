"""Shaped TCP writes: control how bytes reach the program (sticky packets, 001 §4).

TCP is a byte stream (000 §1.1.1): what one side writes in one ``send`` may
arrive in several reads, and several writes may arrive in one.  On loopback,
bytes written together arrive together, and writes separated by a short pause
(with TCP_NODELAY, which :class:`~netgrade.peers.tcp.TcpConn` sets) arrive as
separate reads.  :class:`ShapedPeer` uses that to produce the shapes that
expose broken framing:

- several frames coalesced in one write (``write``);
- one frame cut into pieces with short pauses between them (``write_pieces``),
  down to one byte at a time (``trickle``);
- a large frame written while the replies are read at the same time
  (``send_big``), so neither side blocks on a full buffer;
- reading framed replies (``read_replies``) with the shared codec.

The pauses are part of the traffic's shape, not waits for an event, and they
are spent *watching* the connection: anything the program sends back before
the last piece left is counted (``early``), because a server that answers
before a message is complete is not reading whole frames.

Every write is logged by the TcpConn; each shape adds one note that says what
it was in words ("2 frames in one write (18 bytes)").
"""
from __future__ import annotations

import select
import time

from ..i18n import N_, Msg, message
from ..protocols.framing import FrameDecoder, FrameTooLarge
from .tcp import TcpConn, socket_error

GAP_S = 0.04          # between pieces: long enough that each piece is its own read
TRICKLE_GAP_S = 0.02  # between single bytes (a trickle has many pieces)
BIG_CHUNK = 65536


#: counted words of messages: (one, more), marked for translation
COUNTED = {
    "message": (N_("{count} message"), N_("{count} messages")),
    "reply": (N_("{count} reply"), N_("{count} replies")),
    "write": (N_("{count} write"), N_("{count} writes")),
}


def plural(n: int, word: str) -> Msg:
    """``n`` and ``word`` ("message", "reply", "write"), singular or plural."""
    one, more = COUNTED[word]
    return Msg(one if n == 1 else more, {"count": n})


def sizes(parts: list[bytes]) -> str:
    shown = ", ".join(str(len(p)) for p in parts[:12])
    return shown + (", …" if len(parts) > 12 else "")


class ShapedPeer:
    """Frames in chosen shapes over one TcpConn, and framed replies read back."""

    def __init__(self, conn: TcpConn, max_payload: int = 64 * 1024 * 1024) -> None:
        self.conn = conn
        self.decoder = FrameDecoder(max_payload)
        self.replies: list[bytes] = []   # decoded, not yet handed out
        self.reply_bytes = 0              # wire bytes of every reply decoded
        self.garbage: FrameTooLarge | None = None
        self.early = 0                    # bytes back before the last piece of the last shape

    @property
    def evidence(self):
        return self.conn.evidence

    def note(self, text: Msg) -> None:
        self.evidence.note(Msg(N_("{label}: {note}"), {"label": self.conn.label, "note": text}))

    # ------------------------------------------------------------ writing
    def write(self, data: bytes, what: Msg | str) -> bool:
        """One write of ``data`` (``what`` says what is in it, for the evidence)."""
        self.note(Msg(N_("wrote {what} in one write ({count} bytes)"), {"what": message(what), "count": len(data)}))
        self.early = 0
        return self.conn.send(data)

    def _pause(self, gap: float) -> None:
        """The shape's pause, spent collecting whatever the program sends meanwhile."""
        if self.conn.ended is not None or self.conn.closed:
            return
        before = len(self.conn.pending)
        deadline = time.monotonic() + gap
        while self.conn.read_some(deadline):  # keeps data in conn.pending
            if self.conn.ended is not None:
                break
        self.early += len(self.conn.pending) - before

    def write_pieces(self, parts: list[bytes], what: Msg | str, gap: float = GAP_S,
                     gaps: list[float] | None = None) -> bool:
        """Each of ``parts`` in its own write, with a pause of ``gap`` s between them (``gaps``: one
        pause before each part but the first, instead)."""
        pauses = list(gaps) if gaps is not None else [gap] * (len(parts) - 1)
        apart = (Msg(N_("{ms} ms apart"), {"ms": f"{gap * 1000:.0f}"}) if gaps is None else
                 Msg(N_("after pauses of {ms} ms"), {"ms": ", ".join(f"{g * 1000:.0f}" for g in pauses)}))
        writes = plural(len(parts), "write")
        self.note(Msg(N_("wrote {what} in {writes} of {sizes} bytes, {apart} (TCP_NODELAY: each leaves as its own"
                         " segment)"), {"what": message(what), "writes": writes, "sizes": sizes(parts),
                                        "apart": apart}))
        self.early = 0
        for i, part in enumerate(parts):
            if i:
                self._pause(pauses[i - 1])
            if not self.conn.send(part):
                return False
        return True

    def trickle(self, data: bytes, what: Msg | str, gap: float = TRICKLE_GAP_S) -> bool:
        """``data`` one byte per write."""
        return self.write_pieces([data[i:i + 1] for i in range(len(data))],
                                 Msg(N_("{what} one byte at a time"), {"what": message(what)}), gap)

    def send_big(self, data: bytes, what: Msg | str, timeout: float) -> bool:
        """Write ``data`` while reading what comes back (kept in conn.pending).

        A program that echoes as it reads blocks on a full send buffer unless
        we read too; so writing and reading share one select loop.
        """
        conn, sock = self.conn, self.conn.sock
        self.note(Msg(N_("writing {what} ({count} bytes) while reading the replies"),
                      {"what": message(what), "count": len(data)}))
        self.evidence.packet("sent", "tcp", conn.local, conn.remote, data)
        conn.sent += data
        view = memoryview(data)
        got = 0
        deadline = time.monotonic() + timeout
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                self.note(Msg(N_("the program stopped reading: {left} of {count} bytes unsent after {seconds} s"),
                              {"left": len(view), "count": len(data), "seconds": f"{timeout:g}"}))
                return False
            readable, writable, _ = select.select([sock], [sock], [], left)
            if readable:
                try:
                    chunk = sock.recv(BIG_CHUNK)
                except (BlockingIOError, InterruptedError):
                    chunk = None
                except ConnectionResetError:
                    conn.mark_end("rst", Msg(N_("while we were still sending")))
                    return False
                if chunk == b"":
                    conn.mark_end("fin", Msg(N_("while we were still sending")))
                    return False
                if chunk:
                    conn.pending += chunk
                    conn.received += chunk
                    got += len(chunk)
            if writable:
                try:
                    n = sock.send(view[:BIG_CHUNK * 4])
                    view = view[n:]
                except (BlockingIOError, InterruptedError):
                    pass
                except (ConnectionResetError, BrokenPipeError) as exc:
                    conn.mark_end("rst", Msg(N_("while sending ({error})"), {"error": socket_error(exc)}))
                    return False
        if got:
            self.note(Msg(N_("{count} bytes came back while we were writing"), {"count": got}))
        return True

    # ------------------------------------------------------------ reading
    def read_replies(self, count: int, timeout: float) -> list[bytes]:
        """Up to ``count`` framed replies, decoded; fewer if the deadline passes,
        the connection ends, or a header announces an absurd length."""
        deadline = time.monotonic() + timeout
        reads = 0
        while len(self.replies) < count and self.garbage is None:
            if self.conn.pending:
                data = bytes(self.conn.pending)
                self.conn.pending.clear()
            else:
                left = deadline - time.monotonic()
                if left <= 0 or self.conn.ended is not None:
                    break
                data = self.conn.recv(left)
                if not data:  # None: timeout; b'': the program closed
                    break
            reads += 1
            try:
                frames = self.decoder.feed(data)
            except FrameTooLarge as exc:
                self.garbage = exc
                self.note(Msg(N_("the reply stream holds a header that is not a sane length: {error}"),
                              {"error": Msg(N_("frame header {header} announces {length} bytes, more than the limit"
                                                       " {limit}"), {"header": exc.header.hex(" "),
                                                                      "length": exc.length, "limit": exc.limit})}))
                break
            self.replies.extend(frames)
            self.reply_bytes += sum(4 + len(f) for f in frames)
        out, self.replies = self.replies[:count], self.replies[count:]
        return out

    def describe_replies(self, got: list[bytes], limit: int = 3) -> str:
        """'1 reply of 17 bytes' / 'no reply', plus what is left incomplete."""
        if not got:
            text = Msg(N_("no reply"))
        else:
            lens = ", ".join(str(4 + len(g)) for g in got[:limit]) + (", …" if len(got) > limit else "")
            text = Msg(N_("{plural} ({lens} bytes on the wire)"),
                    {"plural": plural(len(got), 'reply'), "lens": lens})
        if self.decoder.pending:
            text += Msg(N_(", then {n_pending} bytes of an incomplete frame"),
                    {"n_pending": len(self.decoder.pending)})
        if self.garbage is not None:
            text += Msg(N_(", then a header {hex} announcing {length} bytes"),
                    {"hex": self.garbage.header.hex(' '), "length": self.garbage.length})
        if self.conn.ended:
            text += Msg(N_("; the server closed the connection ({upper})"),
                    {"upper": self.conn.ended.upper()})
        return text
