"""UDP family: udp-send, udp-recv, udp-echo-server/-client, udp-area-server/-client.

Sheet: "## UDP" in course-pack.md (notes 000 §3.2, 001 §2.2 and §3.1, 004 §4).
Each check is one line of the sheet at the sheet's level.  The peer is a UDP
socket of the grader inside the check's private network; every datagram it
sends or receives is in the evidence.  Each program also gets one "interop"
check (level extra) against our reference counterpart.
"""
from __future__ import annotations

import math
import re

from netgrade.checks import (
    Msg,
    N_,
    UdpPeer,
    at,
    check,
    encoding_note,
    ended_note,
    exits_zero,
    fail,
    fmt_addr,
    no_crash,
    prints,
    prints_text,
    run_input_hint,
    show_bytes,
    target_of,
)

# ------------------------------------------------------------------ helpers


SPY_PORTS = (8080, 8090, 8000, 8888, 9090, 6666)
PER_REQUEST = 2  # datagrams a server may send per request (an answer, and a note or a repeat)
NEIGHBOUR_WINDOW = 0.05  # s: how long, after a reply, the controls beside the client are watched


class Server:
    """A UDP server under test, its requests and what came back, told apart from a spray.

    A reply counts only when it comes from the server's own address and port
    (where the request went) to the sender, after a request.  Spies sit on
    the course's other ports to see where a misdirected reply went; anyone in
    the sandbox can send to them, so what they catch is named in messages and
    counts as the (misdirected) reply, for the checks that judge what a reply
    says, only when it is the server's one datagram after the request.  A
    control socket that never sends must hear nothing: a server that sends to
    it, or sends more than ``PER_REQUEST`` datagrams per request (any before
    the first), is spraying, and nothing it sends counts as a reply.  Two more
    controls sit on the ports just below and above the client's: a program
    sweeping the port range reaches one of them one datagram after the
    client's, so its junk at the client is told from a reply at once, however
    slowly the sweep runs.
    """

    def __init__(self, sandbox, run, port: int, spies: bool = True) -> None:
        self.run = run
        self.address = target_of(run.listener)
        self.peer = UdpPeer(sandbox)
        self.control = UdpPeer(sandbox, label=Msg(N_("control (never sends)")))
        self.controls = [self.control]
        for near in (self.peer.port - 1, self.peer.port + 1):
            try:
                self.controls.append(UdpPeer(sandbox, near, label=Msg(N_("control (never sends)"))))
            except OSError:  # taken (by the program, or the port range ends): the others still watch
                pass
        self.spies = []
        for spy_port in SPY_PORTS if spies else ():
            if spy_port != port:
                try:
                    self.spies.append(UdpPeer(sandbox, spy_port, label=f"spy:{spy_port}"))
                except OSError:  # the program holds it
                    pass
        self.asked = 0
        self.sent = 0  # datagrams from the server seen anywhere
        self.strays: list[tuple[int, bytes]] = []  # (spy port, payload) from the server
        self._last_strays: list[tuple[int, bytes]] = []
        self.spray = ""  # why the server's datagrams are not replies, once it is seen spraying
        early = [d for p in (self.peer, *self.controls) for d, a in p.early if a[0] == self.address[0]]
        if early:
            self.spray = (f"the program sent {len(early)} datagram(s) to sockets of the grader before any request "
                          f"({show_bytes(early[0], 40)}): a spray, not replies")

    def close(self) -> None:
        """Close the grader's sockets (before the server is started again: the spies' fixed ports would
        otherwise sit in the socket table beside the new run's)."""
        for peer in (self.peer, *self.controls, *self.spies):
            peer.sock.close()

    def _sweep(self, window: float = 0.0) -> list[tuple[int, bytes]]:
        """Count what reached the spies and the control; the spies' datagrams from the server."""
        mine = []
        for spy in self.spies:
            mine += [(spy.port, d) for d, a in spy.recv_quiet(window if spy is self.spies[0] else 0.0)
                     if a == self.address]
        # the window is spent on the first spy (or on the first control when there is no spy); then every
        # control is read at once
        wait_on_control = window if not self.spies else 0.0
        heard = [d for c in self.controls for d, a in c.recv_quiet(wait_on_control if c is self.control else 0.0)
                 if a[0] == self.address[0]]
        self.sent += len(mine)
        self.strays += mine
        if heard and not self.spray:
            self.spray = (f"the program sent {len(heard)} datagram(s) to a socket of the grader that never sent "
                          f"anything ({show_bytes(heard[0], 40)}): a spray, not replies")
        if self.sent > PER_REQUEST * self.asked and not self.spray:
            where = sorted({p for p, _ in self.strays})
            self.spray = (f"the server sent {self.sent} datagram(s) for {self.asked} request(s)"
                          + (f", to port(s) {where}" if where else "") + ": a spray, not replies")
        return mine

    def ask(self, request: bytes, step: float) -> bytes | None:
        """Send ``request``; the reply at the sender's address, or None (see ``misdirected``)."""
        self.sent += len([d for d, a in self.peer.recv_quiet(0.0) if a == self.address])
        self._sweep()
        self.peer.send(request, self.address)
        self.asked += 1
        got = self.peer.recv(step, expect_from=Msg(N_("the server")), source=self.address)
        if got is not None:
            self.sent += 1
        # a sweep that just reached the client reaches a neighbour control next: give it a moment to show
        # (where spies watch, i.e. where a reply's address is judged apart from what it says)
        fresh = self._sweep(NEIGHBOUR_WINDOW if got is not None and self.spies else 0.0)
        if self.spray:
            return None
        self._last_strays = fresh
        return got[0] if got is not None else None

    def misdirected(self) -> tuple[int, bytes] | None:
        """(spy port, payload): the server's one reply to the last request, sent to another port."""
        fresh = self._last_strays
        return fresh[0] if len(fresh) == 1 and not self.spray else None

    def settle(self) -> None:
        """Fail if the server turns out to be spraying (a short look at the spies and the control)."""
        self._sweep(0.1)
        if self.spray:
            fail(N_("expected replies from the server at {fmt_addr} only to its requests; {spray}"),
                 fmt_addr=fmt_addr(self.address), spray=self.spray)

    def why_none(self, request: bytes, step: float) -> str:
        """What the server sent instead of a reply to ``request``, for a failure message."""
        if self.spray:
            return Msg(N_("expected a reply to {bytes} from the server at {fmt_addr}; {spray}"),
                    {"bytes": show_bytes(request), "fmt_addr": fmt_addr(self.address), "spray": self.spray})
        others = self.peer.ignored
        parts = []
        stray = self.misdirected()
        if stray is not None:
            parts.append(f"the reply went to port {stray[0]}; the client was on {self.peer.port}")
        if others:
            parts.append(f"{len(others)} datagram(s) from {fmt_addr(others[0][1])}, not the server's "
                         f"{fmt_addr(self.address)}, were not taken as replies")
        ended = ended_note(self.run, Msg(N_("the server")))
        seen = "; ".join(parts) or Msg(N_("got none"))
        return Msg(N_("expected a reply to {bytes} within {step:g} s; {seen}{ended}{waiting}"),
                {"bytes": show_bytes(request), "step": step, "seen": seen, "ended": ended,
                 "waiting": run_input_hint(self.run)})


def reply_or_fail(server: Server, step: float, request: bytes) -> bytes:
    """The reply to ``request`` at the sender's address."""
    got = server.ask(request, step)
    if got is None:
        where = server.misdirected()
        if where is not None:
            fail(N_("no reply to {bytes} at the sender's address: the reply went to port {where}; the client was on "
                    "{port}"),
                 bytes=show_bytes(request), where=where[0], port=server.peer.port)
        fail(server.why_none(request, step))
    return got


def drain(peer: UdpPeer, source: tuple[str, int] | None = None) -> list[bytes]:
    """What is queued at ``peer`` (only from ``source`` when given)."""
    return [d for d, a in peer.recv_quiet(0.0) if source is None or a == source]


# ================================================================== udp-send

SEND_LINE = "hello netgrade"


def _sent_datagrams(sandbox, program, limits, line: str) -> tuple[list[bytes], object]:
    peer = UdpPeer(sandbox, program.port)
    run = program.start(stdin=line)
    first = peer.recv(limits.step_s, expect_from="udp-send")
    if first is None:
        return [], run
    run.wait_exit(limits.step_s)  # whatever follows the first datagram is sent before exit
    got = [first[0], *drain(peer)]
    return got, run


def _expect_one(got: list[bytes], line: str, run) -> None:
    want = line.encode("utf-8")
    if not got:
        ended = ended_note(run)
        fail(N_("expected one datagram {bytes} on UDP port 8080; got none{ended}"),
             bytes=show_bytes(want), ended=ended)
    if len(got) > 1:
        fail(N_("expected exactly one datagram; got {n_got}: {join}"),
             n_got=len(got), join=", ".join(show_bytes(g, 40) for g in got[:5]))
    if got[0] != want:
        hint = Msg(N_(" (the newline must not be sent)")) if got[0].rstrip(b"\r\n") == want else ""
        if not hint and got[0] == want.strip():
            hint = Msg(N_(" (the spaces at the ends of the line were stripped; they are part of the line)"))
        fail(N_("payload: expected {bytes} ({n_want} bytes), got {bytes2} ({n_got} bytes){hint}{encoding_note}"),
             bytes=show_bytes(want), n_want=len(want), bytes2=show_bytes(got[0]), n_got=len(got[0]), hint=hint,
             encoding_note=encoding_note(line, got[0]))


# The line's bytes are the payload, its spaces included: a line typed with spaces at its ends
# (the edge a .strip() cuts) is one of the must line's inputs.
SPACED_LINE = "  hello, spaces at both ends  "


@check("udp-send", "must", "sends exactly one datagram: the line's UTF-8 bytes, no newline", id="one-datagram",
       sheet="001 §3.1.1",
       hint=N_("One sendto() per line, with input().encode('utf-8'); no '\\n', nothing stripped."))
def test_udp_send_one_datagram(sandbox, program, limits):
    """Sheet: "exactly one datagram, payload == the line's UTF-8 bytes (no newline)".  Two runs: an ASCII
    line, and one with spaces at both ends (the line's bytes include them; input().strip() loses them)."""
    for line in (SEND_LINE, SPACED_LINE):
        got, run = _sent_datagrams(sandbox, program, limits, line)
        _expect_one(got, line, run)


@check("udp-send", "must", "exits with status 0 on its own", id="exits", sheet="001 §3.1.1")
def test_udp_send_exits(sandbox, program, limits):
    UdpPeer(sandbox, program.port)
    run = program.start(stdin=SEND_LINE)
    exits_zero(run, limits.step_s, Msg(N_("after sending its line")))


@check("udp-send", "should", "works for a non-ASCII line and a 1000-byte line", id="non-ascii-and-long",
       sheet="001 §3.1.1",
       hint=N_("Encode with UTF-8 and send the whole line in one datagram."))
def test_udp_send_non_ascii_and_long(sandbox, program, limits):
    for line in ("我爱你，网络编程", "x" * 990 + "我爱你ab"[:4]):
        got, run = _sent_datagrams(sandbox, program, limits, line)
        _expect_one(got, line, run)


@check("udp-send", "extra", "interop: the reference receiver gets the line", id="with-reference", sheet="001 §3.1")
def test_udp_send_with_reference(sandbox, program, reference, limits):
    recv = reference.start("udp-recv", args=["--port", str(program.port)])
    program.start(stdin="来自学生 hello")
    prints(recv, "来自学生 hello", limits.step_s, Msg(N_("the reference udp-recv prints what it received")))


# ================================================================== udp-recv

RECV_TEXT = "你好 netgrade 8090"


def sized_text(n: int, head: str = "") -> str:
    """A text of exactly ``n`` UTF-8 bytes: ``head``, then ASCII and Chinese mixed, ending in Chinese.

    Cut by a smaller buffer, it loses its end (or splits a character), so
    "the whole payload" is seen to fail at the sizes students' buffers have.
    """
    body = head
    filler = "网络编程 socket 我爱你 "
    while len((body + filler).encode()) <= n - 3:
        body += filler
    body += "x" * (n - 3 - len(body.encode()))
    return body + "完"


# The largest payloads the course sends: udp-recv's datagram "up to 1024
# bytes", and the sheet's 1000-byte lines (udp-send's should line), which are
# the longest lines any UDP client of the course is given.  Neither goes past
# the seeds' recvfrom(1024), so a 1024-byte buffer is never blamed; a 512-byte
# one is.
RECV_MAX = sized_text(1024, "你好 netgrade 8090 ")
LONG_LINE = sized_text(1000, "a 1000-byte line ")


@check("udp-recv", "must", "prints the datagram's text", id="prints", sheet="001 §3.1.2",
       hint=N_("recvfrom(1024), then print data.decode('utf-8')."))
def test_udp_recv_prints(sandbox, program, limits):
    """Sheet: "receives one datagram (up to 1024 bytes), prints its decoded text"; must: "the printed output
    contains the datagram's text".  The datagram is the largest the line allows, 1024 bytes of UTF-8 with
    Chinese text, so a recvfrom(512) (or any buffer under 1024) shows; the seeds' recvfrom(1024) passes."""
    run = program.start_server()
    peer = UdpPeer(sandbox)
    peer.send(RECV_MAX.encode(), target_of(run.listener))
    prints_text(run, RECV_MAX, limits.step_s, Msg(N_("the text of the {n_encode}-byte datagram it received"),
            {"n_encode": len(RECV_MAX.encode())}))


@check("udp-recv", "must", "exits with status 0 after the one datagram", id="exits", sheet="001 §3.1.2")
def test_udp_recv_exits(sandbox, program, limits):
    run = program.start_server()
    UdpPeer(sandbox).send(RECV_TEXT.encode(), target_of(run.listener))
    exits_zero(run, limits.step_s, Msg(N_("after receiving one datagram")))


@check("udp-recv", "extra", "interop: prints what the reference sender sent", id="with-reference", sheet="001 §3.1")
def test_udp_recv_with_reference(sandbox, program, reference, limits):
    run = program.start_server()
    reference.start("udp-send", stdin="参考 sender", args=at(run))
    prints(run, "参考 sender", limits.step_s, Msg(N_("the line the reference udp-send sent")))


# ================================================================== udp-echo-server

MANY_DATAGRAMS = 40

def _echo_once(server: Server, payload: bytes, step: float) -> None:
    reply = reply_or_fail(server, step, payload)
    if reply != payload:
        fail(N_("reply differs from the request: expected {bytes} ({n_payload} bytes), got {bytes2} ({n_reply} "
                "bytes){encoding_note}"),
             bytes=show_bytes(payload), n_payload=len(payload), bytes2=show_bytes(reply), n_reply=len(reply),
             encoding_note=encoding_note(payload, reply))


@check("udp-echo-server", "must", "echoes byte for byte, to the sender's address and port", id="echo",
       sheet="001 §3.1.3",
       hint=N_("sendto(data, addr) with the addr that recvfrom() returned."))
def test_udp_echo_server_echo(sandbox, program, limits):
    """Sheet: "the reply equals the request, byte for byte, and goes to the sender's address and port".
    Sent: a short Chinese line, then a 1000-byte one (the longest line the sheet's clients send, udp-send's
    should line), from one client socket.  A server reading with recvfrom(512) cuts it and fails; the
    seeds' recvfrom(1024) is enough for every payload of the course and passes."""
    server = Server(sandbox, program.start_server(), program.port)
    for payload in ("hello 我爱你".encode(), LONG_LINE.encode()):
        _echo_once(server, payload, limits.step_s)


@check("udp-echo-server", "must", "serves many datagrams in a row", id="many", sheet="001 §3.1.3",
       hint=N_("Loop: while True: recvfrom / sendto."))
def test_udp_echo_server_many(sandbox, program, limits):
    """Sheet: "serves many datagrams in a row" (a loop forever).  40 in a row, well past the 10 or 20 a
    fixed-count loop (``for i in range(20)``) serves: a server that stops after N fails for any N under 40."""
    server = Server(sandbox, program.start_server(), program.port, spies=False)
    for i in range(MANY_DATAGRAMS):
        payload = f"message {i + 1} of {MANY_DATAGRAMS}".encode()
        reply = server.ask(payload, limits.step_s)
        if reply is None:
            run = server.run
            state = Msg(N_("it ended: {crash}"),
                    {"crash": run.crash_summary()}) if not run.running else Msg(N_("it is running but did not answer"))
            fail(N_("expected an echo of every one of {many_datagrams} datagrams in a row; it answered {i}, then "
                    "none to {bytes} within {step_s:g} s ({state})"),
                 many_datagrams=MANY_DATAGRAMS, i=i, bytes=show_bytes(payload), step_s=limits.step_s, state=state)
        if reply != payload:
            fail(N_("datagram {i_1} of {many_datagrams}: expected the echo {bytes}, got {bytes2}"),
                 i_1=i + 1, many_datagrams=MANY_DATAGRAMS, bytes=show_bytes(payload), bytes2=show_bytes(reply))


@check("udp-echo-server", "must", "two clients interleaved each get only their own replies", id="two-clients",
       sheet="001 §3.1.3",
       hint=N_("Reply to the address of each datagram, not to the first client's."))
def test_udp_echo_server_two_clients(sandbox, program, limits):
    run = program.start_server()
    server = target_of(run.listener)
    a, b = UdpPeer(sandbox, label=N_("client A")), UdpPeer(sandbox, label=N_("client B"))
    for i in range(3):
        for peer in (a, b):
            payload = f"{peer.label} #{i}".encode()
            peer.send(payload, server)
            got = peer.recv(limits.step_s, expect_from=Msg(N_("the server")), source=server)
            other = b if peer is a else a
            stray = drain(other, server)
            if stray:
                fail(N_("the reply to {label} (port {port}) went to {label2} (port {port2}): {bytes}"),
                     label=Msg(peer.label), port=peer.port, label2=Msg(other.label), port2=other.port,
                     bytes=show_bytes(stray[0]))
            if got is None:
                fail(N_("{label} (port {port}) got no reply to {bytes} within {step_s:g} s"),
                     label=Msg(peer.label), port=peer.port, bytes=show_bytes(payload), step_s=limits.step_s)
            if got[0] != payload:
                fail(N_("{label} expected {bytes}, got {bytes2}"),
                     label=Msg(peer.label), bytes=show_bytes(payload), bytes2=show_bytes(got[0]))


@check("udp-echo-server", "should", "keeps datagram boundaries: two datagrams, two replies", id="boundaries",
       sheet="001 §3.1.3")
def test_udp_echo_server_boundaries(sandbox, program, limits):
    run = program.start_server()
    server = target_of(run.listener)
    peer = UdpPeer(sandbox)
    first, second = b"first datagram", b"second one"
    peer.send(first, server)
    peer.send(second, server)
    replies = []
    for _ in range(2):
        got = peer.recv(limits.step_s, expect_from=Msg(N_("the server")), source=server)
        if got is None:
            break
        replies.append(got[0])
    if replies != [first, second]:
        fail(N_("expected two replies {bytes} then {bytes2}; got {got}"),
             bytes=show_bytes(first), bytes2=show_bytes(second),
             got=", ".join(show_bytes(r) for r in replies) or Msg(N_("none")))


@check("udp-echo-server", "should", "echoes an empty datagram", id="empty", sheet="001 §3.1.3",
       hint=N_("An empty datagram is a real message: recvfrom returns b'' for it; send b'' back."))
def test_udp_echo_server_empty(sandbox, program, limits):
    _echo_once(Server(sandbox, program.start_server(), program.port, spies=False), b"", limits.step_s)


@check("udp-echo-server", "should", "survives a payload that is not valid UTF-8 and goes on serving", id="invalid-utf8",
       sheet="001 §3.1.3", hint=N_("Echo the bytes; decode only for printing, with errors='replace'."))
def test_udp_echo_server_invalid_utf8(sandbox, program, limits):
    run = program.start_server()
    server = Server(sandbox, run, program.port, spies=False)
    server.ask(b"\xff\xfe\x80 not utf-8 \xe6\x88", limits.step_s)  # the echo itself is the must line's business
    probe = b"still there?"
    got = server.ask(probe, limits.step_s)
    if got != probe:
        state = Msg(N_("it ended: {crash}"),
                {"crash": run.crash_summary()}) if not run.running else Msg(N_("it is running but did not answer"))
        fail(N_("after a non-UTF-8 datagram, expected the echo of {bytes}; {state}"),
             bytes=show_bytes(probe), state=state)


@check("udp-echo-server", "extra", "interop: the reference echo client gets its replies", id="with-reference",
       sheet="001 §3.1.3")
def test_udp_echo_server_with_reference(sandbox, program, reference, limits):
    run = program.start_server()
    client = reference.start("udp-echo-client", stdin=["参考客户端", "exit"], args=at(run))
    prints(client, "返回的数据是: 参考客户端", limits.step_s, Msg(N_("the reference client prints the echo")))


# ================================================================== udp-echo-client

def _serve_echo(peer: UdpPeer, run, lines: list[str], step: float, check_print: bool = False) -> list[tuple]:
    """Play the echo server for ``lines``; returns the source addresses seen.

    Only the check of the "one datagram per line; each reply printed" line
    looks at the output and at the payload's encoding; the others judge their
    own line alone, so a client that sends GBK loses that one check (its
    datagram is still echoed, as a server that echoes bytes would).
    """
    sources = []
    for line in lines:
        got = peer.recv(step, expect_from=Msg(N_("the client")))
        want = line.encode()
        if got is None:
            ended = ended_note(run, Msg(N_("the client")))
            fail(N_("expected a datagram {bytes} (the line {line}) within {step:g} s; got none{ended}"),
                 bytes=show_bytes(want), line=repr(line), step=step, ended=ended)
        data, addr = got
        why = encoding_note(line, data)
        if data != want and (check_print or not why):
            fail(N_("expected the datagram {bytes} for the line {line}; got {bytes2}{why}"),
                 bytes=show_bytes(want), line=repr(line), bytes2=show_bytes(data), why=why)
        sources.append(addr)
        peer.send(data, addr)
        if check_print:
            prints_text(run, line, step, Msg(N_("the reply to {line}"),
                    {"line": repr(line)}))
    return sources


ECHO_LINES = ["hello", "我爱你", "exit"]


@check("udp-echo-client", "must", "one datagram per line, in order; each reply printed", id="lines", sheet="001 §3.1.3")
def test_udp_echo_client_lines(sandbox, program, limits):
    """Sheet: "one datagram per line, in order; each reply printed".  The lines: ASCII, Chinese, a 1000-byte
    line (the longest the sheet gives a UDP client, udp-send's should line) and exit; each echoed whole and
    looked for whole in the output, so a client reading replies with recvfrom(512) fails; recvfrom(1024)
    passes."""
    lines = [*ECHO_LINES[:-1], LONG_LINE, ECHO_LINES[-1]]
    peer = UdpPeer(sandbox, program.port)
    run = program.start(stdin=lines)
    _serve_echo(peer, run, lines, limits.step_s, check_print=True)


@check("udp-echo-client", "must", "exits with status 0 after 'exit' and its echo", id="exits", sheet="001 §3.1.3")
def test_udp_echo_client_exits(sandbox, program, limits):
    peer = UdpPeer(sandbox, program.port)
    run = program.start(stdin=ECHO_LINES)
    _serve_echo(peer, run, ECHO_LINES, limits.step_s)
    exits_zero(run, limits.step_s, Msg(N_("after 'exit' and its echo")))


ONE_SOCKET_LINES = ["one", "two (its reply is withheld)", "three", "exit"]


@check("udp-echo-client", "should", "uses one socket (one source port) for the whole session", id="one-socket",
       sheet="001 §3.1.3", hint=N_("Create the socket once, before the loop, and keep it after a timeout too."))
def test_udp_echo_client_one_socket(sandbox, program, limits):
    """Sheet: "uses one socket (one source port) for the whole session".  The whole session includes what
    follows a lost reply: the reply to the second line is withheld, and every datagram the client sends,
    before and after (a resend of that line included), must come from the one source port.  A client
    with no timeout never goes on after the loss; it is judged on what it sent before (the hang is the
    lost-reply line's business)."""
    peer = UdpPeer(sandbox, program.port)
    run = program.start(stdin=ONE_SOCKET_LINES)
    seen: list[tuple[str, int]] = []  # (text, source port), in order
    withheld = False
    deadline_step = limits.step_s
    while True:
        got = peer.recv(deadline_step, expect_from=Msg(N_("the client")))
        if got is None:
            break
        data, addr = got
        seen.append((data.decode("utf-8", "replace"), addr[1]))
        if data == ONE_SOCKET_LINES[1].encode() and not withheld:
            withheld = True
            sandbox.evidence.note(Msg(N_("peer withholds the reply to the second line")))
            deadline_step = LOST_REPLY_BUDGET  # the client's own timer decides when it goes on
            continue
        deadline_step = limits.step_s
        peer.send(data, addr)
        if data == b"exit":
            break
    if not seen:
        fail(N_("expected datagrams from the client; got none{ended}"),
             ended=ended_note(run))
    first_port = seen[0][1]
    for i, (text, port) in enumerate(seen):
        if port != first_port:
            after = Msg(N_(" after the reply to the second line was withheld")) if withheld and i >= 2 else ""
            fail(N_("expected every datagram from one source port ({first_port}); {text} came from port "
                    "{port}{after}: a new socket. Ports seen: {join}"),
                 first_port=first_port, text=repr(text), port=port, after=after,
                 join=Msg.joined(", ", (Msg(N_("{text} from {port}"), {"text": repr(t), "port": p}) for t, p in seen)))


@check("udp-echo-client", "should", "exits cleanly at the end of input", id="eof", sheet="001 §3.1.3",
       hint=N_("input() raises EOFError at the end of input: catch it and exit."))
def test_udp_echo_client_eof(sandbox, program, limits):
    """Sheet: "exits cleanly on end of input".  Two runs: input ends after one line, and input that is empty
    from the start (the end of input before any line: a first input() outside the try fails there)."""
    peer = UdpPeer(sandbox, program.port)
    run = program.start(stdin=["only line"])
    _serve_echo(peer, run, ["only line"], limits.step_s)
    run.close_stdin()
    exits_zero(run, limits.step_s, Msg(N_("at the end of its input (no 'exit')")))
    empty = program.start(close_stdin=True)
    exits_zero(empty, limits.step_s, Msg(N_("when its input is empty from the start (no line at all)")))


LOST_REPLY_BUDGET = 6.0  # students choose timers of 1-5 s


LOST_LINES = ["first one", "lost one", "exit"]
PRINT_LAG_S = 0.5  # how far the program's output may lag behind a datagram it sent after printing


def _reply_lines(printed: str, sample: str, prompt: str):
    """A test for "this output line shows a reply", learnt from how the client printed ``sample``'s echo.

    The line that holds ``sample`` (the prompt taken out) is the client's reply format, e.g.
    ``返回的数据是: {}``; a line in that format holding one of the echoed payloads is a reply it printed.
    """
    line = next((ln for ln in printed.splitlines() if sample in ln), None)
    if line is None:
        return lambda ln, payloads: any(ln.strip() == p for p in payloads)
    line = line.replace(prompt, "") if prompt else line
    head, _, tail = line.partition(sample)

    def shows_reply(ln: str, payloads) -> bool:
        ln = ln.replace(prompt, "") if prompt else ln
        return any(ln.strip() == (head + p + tail).strip() for p in payloads)
    return shows_reply


@check("udp-echo-client", "should", "does not hang when a reply is lost (a timeout and a message)", id="lost-reply",
       sheet="001 §3.1.3", hint=N_("settimeout() on the socket, catch socket.timeout, print a message."))
def test_udp_echo_client_lost_reply(sandbox, program, limits):
    """Sheet: "does not hang forever when a reply is lost (a timeout and a message)".  The first line is
    echoed (that shows how the client prints a reply), the reply to the second is withheld; within the
    budget the client must go on (or exit), and print a message about the loss: output after the loss
    other than its prompt and the replies it printed (a client that silently sends the line again and
    prints the echo of the resend has printed no message)."""
    peer = UdpPeer(sandbox, program.port)
    run = program.start(stdin=LOST_LINES)
    first = peer.recv(limits.step_s, expect_from=Msg(N_("the client")))
    if first is None:
        fail(N_("expected the datagram {lost_lines_0} within {step_s:g} s; got none{ended}"),
             lost_lines_0=repr(LOST_LINES[0]), step_s=limits.step_s, ended=ended_note(run))
    peer.send(first[0], first[1])
    lost = peer.recv(limits.step_s, expect_from=Msg(N_("the client")))
    if lost is None:
        fail(N_("expected the datagram {lost_lines_1} within {step_s:g} s; got none{ended}"),
             lost_lines_1=repr(LOST_LINES[1]), step_s=limits.step_s, ended=ended_note(run))
    sandbox.evidence.note(Msg(N_("peer withholds the reply to {line}"),
                              {"line": repr(lost[0].decode('utf-8', 'replace'))}))
    # a client that prints its replies printed the first before it sent the second line: let the output
    # catch up with the datagram (a short bounded wait; no wait at all once it shows)
    run.wait_output(first[0].decode("utf-8", "replace"), PRINT_LAG_S)
    before = run.out  # the first reply and the prompt(s) printed so far, if any
    echoed = [first[0].decode("utf-8", "replace")]
    nxt = peer.recv(LOST_REPLY_BUDGET, expect_from=Msg(N_("the client after the lost reply")))
    if nxt is not None:
        peer.send(nxt[0], nxt[1])
        echoed.append(nxt[0].decode("utf-8", "replace"))
        run.wait_exit(limits.step_s)
    elif run.running:
        fail(N_("after the reply to {lost_lines_1} was withheld, the client neither went on nor exited within "
                "{lost_reply_budget:g} s: it waits forever for the reply"),
             lost_lines_1=repr(LOST_LINES[1]), lost_reply_budget=LOST_REPLY_BUDGET)
    no_crash(run, Msg(N_("after a lost reply")))
    prompt = before[before.rfind("\n") + 1:].strip()  # what it printed while waiting: its prompt, if any
    shows_reply = _reply_lines(before, echoed[0], prompt)
    after = run.out[len(before):]
    for known in {ln for ln in before.splitlines() if ln.strip()} | ({prompt} if prompt else set()):
        after = after.replace(known, "")
    message = [ln for ln in after.splitlines() if ln.strip() and not shows_reply(ln, echoed)]
    if not message:
        resent = nxt is not None and nxt[0] == lost[0]
        how = (Msg(N_("sent {lost_lines_1} again and printed only the echo of the resend"),
                {"lost_lines_1": repr(LOST_LINES[1])}) if resent
               else Msg(N_("went on after the lost reply")))
        fail(N_("expected a message about the lost reply; the client {how}, without printing any message about it"),
             how=how)


@check("udp-echo-client", "extra", "interop: works with the reference echo server", id="with-reference",
       sheet="001 §3.1.3")
def test_udp_echo_client_with_reference(sandbox, program, reference, limits):
    reference.start("udp-echo-server")
    run = program.start(stdin=["参考服务器", "exit"])
    prints(run, "参考服务器", limits.step_s, Msg(N_("the echo from the reference server")))
    exits_zero(run, limits.step_s, Msg(N_("after 'exit'")))


# ================================================================== udp-area-server

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def any_reply(server: Server, step: float, request: bytes) -> bytes:
    """The reply to ``request``, at the sender or misdirected to a spy port.

    Where the reply goes is its own check (reply-to-sender); the others judge
    what the reply says.
    """
    got = server.ask(request, step)
    if got is None:
        stray = server.misdirected()
        if stray is None:
            fail(server.why_none(request, step))
        got = stray[1]
    server.settle()
    return got


def _check_area(raw: bytes, radius: str, spec) -> None:
    prefix = spec.expect.get("prefix", "圆的面积为：")
    pi = float(spec.expect.get("pi", 3.14))
    want = pi * float(radius) ** 2
    reply = raw.decode("utf-8", "replace")
    if not reply.startswith(prefix):
        fail(N_("expected the reply to start with {prefix}; got {bytes}{encoding_note}"),
             prefix=repr(prefix), bytes=show_bytes(raw), encoding_note=encoding_note(prefix, raw))
    m = NUMBER.match(reply[len(prefix):].strip())
    if not m:
        fail(N_("expected a number after {prefix}; got {reply}"),
             prefix=repr(prefix), reply=repr(reply))
    got = float(m.group(0))
    if not math.isclose(got, want, rel_tol=1e-6):
        fail(N_("area {want:g} expected for r={radius} ({pi} * r * r), got {group}"),
             want=want, radius=radius, pi=pi, group=m.group(0))


@check("udp-area-server", "must", "replies 圆的面积为： and 3.14·r² (within 1e-6 relative)", id="value", sheet="000 §3.2.1",
       hint=N_("area = 3.14 * r * r with r = float(text); reply '圆的面积为：' + str(area)."))
def test_udp_area_server_value(sandbox, program, limits, spec):
    """Sheet: "the number after it equals 3.14·r² within 1e-6 relative".  r = 3 and r = 2.5 (not a whole
    number: int() fails there), each to a server started for it (one answer is allowed for the must lines,
    so the first run is ended before the second starts)."""
    for radius in ("3", "2.5"):
        run = program.start_server()
        server = Server(sandbox, run, program.port)
        _check_area(any_reply(server, limits.step_s, radius.encode()), radius, spec)
        run.kill()
        run.wait_exit(limits.step_s)
        server.close()


@check("udp-area-server", "must", "the reply goes to the sender's address and port", id="reply-to-sender",
       sheet="000 §3.2.1",
       hint=N_("sendto(reply, addr) with the addr that recvfrom() returned."))
def test_udp_area_server_reply_to_sender(sandbox, program, limits, spec):
    """Sheet: "the reply goes to the sender's address and port".  Client A asks (r = 1); then, from another
    socket, client B (r = 2): the reply must reach B, not A (a server that remembers its first client's
    address answers A).  A server that answered once and exited, as the seed does, is judged on A alone
    (the sheet accepts one answer for the must lines); a server that sends B nothing is the should line's
    business ("answers more than one request")."""
    run = program.start_server()
    server = Server(sandbox, run, program.port)
    reply_or_fail(server, limits.step_s, b"1")
    server.settle()
    b = UdpPeer(sandbox, label="client B")
    b.send(b"2", server.address)
    sandbox.evidence.note(Msg(N_("a second client (B, another source port) asks with r = 2")))
    got = b.recv(limits.step_s, expect_from=Msg(N_("the server")), source=server.address)
    strays = drain(server.peer, server.address)
    if strays:
        fail(N_("the reply to client B (port {port}) went to client A (port {port2}), the first client: {bytes}; "
                "each reply goes to the address of its own request"),
             port=b.port, port2=server.peer.port, bytes=show_bytes(strays[0]))
    where = server._sweep(0.0 if got is not None else 0.1)
    if got is None and where:
        fail(N_("the reply to client B (port {port}) went to port {where}: {bytes}"),
             port=b.port, where=where[0][0], bytes=show_bytes(where[0][1]))
    if server.spray:
        fail(N_("expected replies only to the requests' senders; {spray}"),
             spray=server.spray)


@check("udp-area-server", "should", "answers more than one request", id="many", sheet="000 §3.2.1",
       hint=N_("Serve in a loop instead of answering once and exiting."))
def test_udp_area_server_many(sandbox, program, limits, spec):
    """Sheet: "answers more than one request (the seed answers one and exits)", i.e. it serves in a loop.
    Five requests, well past a fixed few (``for i in range(3)``), from two clients in turn (A, B, A, B, A):
    requests from a second client are requests too (a socket connect()ed to its first client drops them).
    Where each reply goes is reply-to-sender's business: a reply that reached the other client or a spy
    counts as an answer here."""
    run = program.start_server()
    server = Server(sandbox, run, program.port)
    b = UdpPeer(sandbox, label="client B")
    for i, radius in enumerate(("1", "4", "0.5", "10", "7")):
        request = radius.encode()
        if i == 0:
            any_reply(server, limits.step_s, request)
            continue
        if i % 2 == 0:
            if server.ask(request, limits.step_s) is None and server.misdirected() is None:
                state = Msg(N_("it had exited")) if not run.running else Msg(N_("it is running but did not answer"))
                if server.spray:
                    fail(server.why_none(request, limits.step_s))
                fail(N_("no reply to radius {radius} after {i} earlier request(s); {state}"),
                     radius=radius, i=i, state=state)
            continue
        server.asked += 1
        b.send(request, server.address)
        got = b.recv(limits.step_s, expect_from=Msg(N_("the server")), source=server.address)
        elsewhere = drain(server.peer, server.address) + [d for _, d in server._sweep()]
        if server.spray:
            fail(N_("expected replies only to the requests' senders; {spray}"),
                 spray=server.spray)
        if got is None and not elsewhere:
            state = Msg(N_("it had exited")) if not run.running else Msg(N_("it is running but did not answer"))
            fail(N_("no reply to radius {radius} from a second client (port {port}) after {i} earlier request(s); "
                    "{state} (a UDP socket connect()ed to its first client drops other clients' datagrams)"),
                 radius=radius, port=b.port, i=i, state=state)
    server.settle()


# Radii that are not numbers: a word, and an empty line (the user pressed Enter).
NOT_NUMBERS = ("abc", "")


@check("udp-area-server", "should", "replies with an error text to a radius that is not a number", id="not-a-number",
       sheet="000 §3.2.1", hint=N_("Catch ValueError from float() and send an error message back."))
def test_udp_area_server_not_a_number(sandbox, program, limits, spec):
    """Sheet: "replies with an error text instead of crashing on a radius that is not a number".  Sent:
    'abc' and an empty radius, to one server.  Each must get a reply that is an error text: any words,
    but not empty and not an area (the prefix and a number: an area for a non-number is no error)."""
    run = program.start_server()
    server = Server(sandbox, run, program.port)
    prefix = spec.expect.get("prefix", "圆的面积为：")
    for text in NOT_NUMBERS:
        shown = repr(text) if text else "'' (empty)"
        got = server.ask(text.encode(), limits.step_s)
        if got is None:
            stray = server.misdirected()
            if stray is None:
                state = Msg(N_("it crashed: {crash}"),
                        {"crash": run.crash_summary()}) if not run.running else Msg(N_("it is running but sent nothing"))
                if server.spray:
                    fail(server.why_none(text.encode(), limits.step_s))
                fail(N_("expected an error reply to the radius {shown}; {state}"), shown=shown, state=state)
            got = stray[1]
        reply = got.decode("utf-8", "replace")
        if not reply.strip():
            fail(N_("expected an error text in reply to the radius {shown}; got an empty reply"),
                 shown=shown)
        rest = reply[len(prefix):].strip() if reply.startswith(prefix) else None
        if rest is not None and NUMBER.fullmatch(rest):
            fail(N_("expected an error text in reply to the radius {shown}, which is not a number; got an area: "
                    "{reply}"),
                 shown=shown, reply=repr(reply))
    server.settle()
    no_crash(run, Msg(N_("on a radius that is not a number")))


@check("udp-area-server", "extra", "interop: the reference area client gets the area", id="with-reference",
       sheet="000 §3.2")
def test_udp_area_server_with_reference(sandbox, program, reference, limits, spec):
    run = program.start_server()
    client = reference.start("udp-area-client", stdin="3", args=at(run))
    prints(client, spec.expect.get("prefix", "圆的面积为："), limits.step_s, Msg(N_("the reference client prints the reply")))


# ================================================================== udp-area-client

# The grader's reply for r = 3: right by the sheet (3.14·r² within 1e-6), written with four decimals, as
# no client computes it itself: a client that prints an area of its own instead of the reply shows.
AREA_REPLY = "圆的面积为：28.2600"


def _area_exchange(sandbox, program, limits, radius="3", reply=AREA_REPLY):
    peer = UdpPeer(sandbox, program.port)
    run = program.start(stdin=radius)
    got = peer.recv(limits.step_s, expect_from=Msg(N_("the client")))
    if got is not None:
        peer.send(reply.encode(), got[1])
    return run, got


@check("udp-area-client", "must", "sends the radius text as typed", id="sends", sheet="000 §3.2.2")
def test_udp_area_client_sends(sandbox, program, limits):
    """Sheet: "sends the radius text as typed".  Two runs: '2.5' and '3' (a whole number, which a client
    that sends str(float(r)) turns into '3.0')."""
    for radius in ("2.5", "3"):
        run, got = _area_exchange(sandbox, program, limits, radius=radius)
        if got is None:
            ended = ended_note(run, Msg(N_("the client")))
            fail(N_("expected a datagram {radius} on UDP port {port}; got none{ended}"),
                 radius=repr(radius), port=program.port, ended=ended)
        if got[0] != radius.encode():
            fail(N_("expected the radius as typed, {bytes}; got {bytes2}"),
                 bytes=show_bytes(radius.encode()), bytes2=show_bytes(got[0]))


@check("udp-area-client", "must", "prints the server's reply", id="prints", sheet="000 §3.2.2")
def test_udp_area_client_prints(sandbox, program, limits):
    run, got = _area_exchange(sandbox, program, limits)
    if got is None:
        fail(N_("the client sent no radius, so there was nothing to reply to"))
    prints_text(run, AREA_REPLY, limits.step_s, Msg(N_("the server's reply")))


@check("udp-area-client", "must", "exits with status 0 after printing the reply", id="exits", sheet="000 §3.2.2")
def test_udp_area_client_exits(sandbox, program, limits):
    run, got = _area_exchange(sandbox, program, limits)
    if got is None:
        fail(N_("the client sent no radius, so there was nothing to reply to"))
    exits_zero(run, limits.step_s, Msg(N_("after printing the reply")))


@check("udp-area-client", "extra", "interop: works with the reference area server", id="with-reference",
       sheet="000 §3.2")
def test_udp_area_client_with_reference(sandbox, program, reference, limits, spec):
    reference.start("udp-area-server")
    run = program.start(stdin="3")
    prints(run, spec.expect.get("prefix", "圆的面积为："), limits.step_s, Msg(N_("the reference server's reply")))
