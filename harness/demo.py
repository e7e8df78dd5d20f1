"""Classroom demos.  ``sticky_demo(out)``: the sticky-packet phenomenon of 001 §4, live.

Two servers get exactly the same bytes, shaped by the grader's TCP peer:

- a naive server that takes one ``recv(1024)`` for one message (what 001 §4
  warns about).  It answers every recv() with one framed reply holding exactly
  the bytes that recv() returned, so we can show what each of its reads saw;
- our reference framed-server (4-byte big-endian length + payload), which
  answers every complete message.

The shapes: several messages in one write (they stick together), one message
in pieces with pauses (it falls apart), one message a byte at a time.  Both
servers run inside a private network namespace when this process may make one,
else on loopback (on ports 9000/9001, which must then be free).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from typing import TextIO

from .evidence import Evidence
from .peers.shaped import ShapedPeer
from .peers.tcp import TcpPeer
from .protocols.framing import encode, encode_many
from .text import printable

NAIVE_PORT, FRAMED_PORT = 9001, 9000

# One recv() is taken for one message; its bytes go back framed so the demo can show each read.
NAIVE_SERVER = r"""
import socket, struct, sys
port = int(sys.argv[1])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("", port))
srv.listen(5)
while True:
    conn, addr = srv.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(struct.pack("!I", len(data)) + data)
    conn.close()
"""

MESSAGES = ["hello", "你好，黏包", "world"]


def _show(data: bytes, limit: int = 60) -> str:
    text = printable(data.decode("utf-8", errors="replace"), keep_newlines=False)
    hexed = data[:4].hex(" ")
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{len(data):>3} bytes [{hexed}{' …' if len(data) > 4 else ''}] '{shown}'"


def _naive_reads(peer: ShapedPeer, sent: int, timeout: float) -> list[bytes]:
    """The naive server's replies, one per recv() it made, until all ``sent`` bytes came back."""
    reads, total = [], 0
    while total < sent:
        got = peer.read_replies(1, timeout)
        if not got:
            break
        reads += got
        total += len(got[0])
    return reads


def sticky_demo(out: TextIO = sys.stdout, gap: float = 0.05) -> int:
    """Run the demo, writing what each server received to ``out``.  Returns 0 (1 if it could not run)."""
    from . import pack as packmod
    from .sandbox import Sandbox, new_network
    from .sandbox.netns import namespace_support
    from netgrade import reference

    pack = packmod.load()
    isolated = namespace_support() == "netns"
    net = new_network(isolated)
    work = tempfile.mkdtemp(prefix="netgrade-demo-")
    box = Sandbox(net, Evidence(), work, pack.limits)
    w = out.write
    try:
        naive = box.start([sys.executable, "-c", NAIVE_SERVER, str(NAIVE_PORT)], label="naive server", trusted=True)
        framed = box.start(reference.command(pack.programs["framed-server"]), label="framed server", trusted=True)
        for run, port in ((naive, NAIVE_PORT), (framed, FRAMED_PORT)):
            if run.wait_listening("tcp", port, 10.0) is None:
                w(f"could not start the {run.label} on port {port}: {run.crash_summary()}\n")
                return 1
        where = "a private network namespace" if isolated else "loopback (no namespaces here)"
        w("Sticky packets (黏包, 001 §4): TCP is a byte stream, not a stream of messages.\n")
        w(f"The same bytes go to two servers in {where}:\n")
        w(f"  naive  (port {NAIVE_PORT}): one recv(1024) = one message\n")
        w(f"  framed (port {FRAMED_PORT}): 4-byte big-endian length + payload (reference framed-server)\n")
        w(f"Each message is framed: struct.pack('!I', len(data)) + data.  Messages: {MESSAGES}\n\n")

        payloads = [m.encode() for m in MESSAGES]
        one = "一条被拆开的消息 (one message in pieces)".encode()
        tiny = "黏 ok".encode()
        shapes = [
            ("3 messages in ONE write", payloads, lambda p: p.write(encode_many(payloads), "3 frames")),
            (f"1 message in 3 writes, {gap * 1000:.0f} ms apart", [one],
             lambda p: p.write_pieces([encode(one)[:4], encode(one)[4:15], encode(one)[15:]], "one frame", gap)),
            ("1 message one byte per write", [tiny], lambda p: p.trickle(encode(tiny), "one frame", gap / 2)),
        ]
        for i, (title, msgs, shape) in enumerate(shapes, start=1):
            wire = sum(4 + len(m) for m in msgs)
            w(f"{i}) {title} ({wire} bytes on the wire)\n")
            for label, port in (("naive ", NAIVE_PORT), ("framed", FRAMED_PORT)):
                peer = ShapedPeer(TcpPeer.connect(box, ("127.0.0.1", port), 2.0, label=label.strip()))
                shape(peer)
                if port == NAIVE_PORT:
                    got = _naive_reads(peer, wire, 2.0)
                    w(f"   {label} recv() returned {len(got)} time(s), so it saw {len(got)} message(s):\n")
                else:
                    got = peer.read_replies(len(msgs), 2.0)
                    w(f"   {label} decoded {len(got)} message(s):\n")
                for g in got[:20]:
                    w(f"       {_show(g)}\n")
                if len(got) > 20:
                    w(f"       … {len(got) - 20} more\n")
                peer.conn.close()
            w("\n")
        w("The naive server's messages follow the reads, not the sender's messages: they stick\n"
          "together (1) or fall apart (2, 3).  The framed server reads 4 header bytes, then exactly\n"
          "that many payload bytes, looping on recv(): the messages come out as they were sent.\n")
        out.flush()
        return 0
    finally:
        box.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(sticky_demo())
