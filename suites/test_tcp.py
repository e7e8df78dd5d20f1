"""TCP family: tcp-chat-*, tcp-thanks-*, tcp-qq-*, tcp-sink-* (server and client each).

Sheet: "## TCP" in course-pack.md (notes 000 §3.1, 001 §3.3, 003, 004 §5, §7).
Each check is one line of the sheet at the sheet's level.  The peer is a TCP
socket of the grader inside the check's private network (netgrade.peers.tcp):
every segment it sends or receives, and how each connection ended (FIN or RST,
who closed first), is in the evidence.  Turn-taking programs are driven by
netgrade.dialogue.  Expected texts come from the pack (``spec.expect``).  For a
client, the grader listens BEFORE the client starts, so it can never find the
port closed.  Each program also gets one "interop" check (level extra)
against our reference counterpart.
"""
from __future__ import annotations

import contextlib
import time

from netgrade.checks import (
    CheckFailure,
    Dialogue,
    Msg,
    N_,
    PeerError,
    TcpConn,
    TcpListener,
    TcpPeer,
    at,
    busy_loop_share,
    check,
    describe_misdecoded_output,
    encoding_note,
    ended_note,
    exits_zero,
    fail,
    naming_encoding_faults,
    no_crash,
    prints,
    prints_text,
    run_input_hint,
    short,
    show_bytes,
    target_of,
    tcp_states,
)

# Seconds of CPU sampling that tell "idle" from "busy loop": short, so a
# spinning program is reported at once instead of after a long timeout.
IDLE_PROBE_S = 0.3
SPIN_SHARE = 0.5

# ------------------------------------------------------------------ helpers


def connect(sandbox, run, limits, label: str = "peer") -> TcpConn:
    """Connect to a server under test (already seen listening)."""
    try:
        return TcpPeer.connect(sandbox, target_of(run.listener), limits.step_s, label=label)
    except PeerError as exc:
        fail(N_("could not connect to the server: {exc}{ended}"),
             exc=exc, ended=ended_note(run, 'the server'))


def accept(listener: TcpListener, run, limits, port: int) -> TcpConn:
    """The client's connection to our listener, or a failure saying why it did not come."""
    conn = listener.accept(limits.ready_s)
    if conn is None:
        if not run.running:
            fail(N_("expected the client to connect to TCP port {port}; it ended first: {crash}"),
                 port=port, crash=run.crash_summary())
        fail(N_("expected the client to connect to TCP port {port} within {ready_s:g} s; it is running but did not "
                "connect (wrong address or port? waiting for input first is fine, it was given)"),
             port=port, ready_s=limits.ready_s)
    return conn


def receive_text(conn: TcpConn, want: bytes, timeout: float) -> bytes:
    """At least len(want) bytes, or whatever arrived before the connection ended / the deadline."""
    got = conn.recv_until(lambda buf: len(buf) >= len(want), timeout)
    if got is None:
        got = bytes(conn.pending)
        conn.pending.clear()
    return got


def ends_cleanly(run, after: str, limits, *, zero: bool = True) -> None:
    """The program ends on its own soon ``after`` something, without a traceback.

    A program still running after a short look is sampled for CPU: a busy loop
    is reported at once ("spinning at N% CPU") rather than after a long wait.
    """
    started = time.monotonic()
    code = run.wait_exit(IDLE_PROBE_S)
    if code is None:
        share = busy_loop_share(run, IDLE_PROBE_S, SPIN_SHARE, limits.step_s)
        if run.running and share > SPIN_SHARE:
            fail(N_("expected the program to end {after}; it keeps running, spinning at {share:.0%} CPU (a busy "
                    "loop: recv() returns b'' forever once the other side closed)"),
                 after=after, share=share)
        code = run.wait_exit(limits.step_s)
        if code is None:
            fail(N_("expected the program to end {after}; it was still running {waited:g} s later, "
                    "idle (blocked in input(), recv() or accept()?)"),
                 after=after, waited=round(time.monotonic() - started, 1))
    if "Traceback (most recent call last)" in run.err:
        fail(N_("expected a clean end {after}; {crash}"),
             after=after, crash=run.crash_summary())
    if zero and code != 0:
        fail(N_("expected exit status 0 {after}; {crash}"),
             after=after, crash=run.crash_summary())


def not_spinning(run, what: str) -> None:
    """While the program should be idle (waiting for a client or for input), it uses no CPU."""
    share = run.cpu_share(IDLE_PROBE_S)
    if run.running and share > SPIN_SHARE:
        fail(N_("{what}, the program should wait idle; it is spinning at {share:.0%} CPU (a busy loop)"),
             what=what, share=share)


@contextlib.contextmanager
def naming_input_wait(run):
    """Inside the block, a failure says so when the program sits waiting for input the sheet never mentions."""
    try:
        yield
    except CheckFailure as exc:
        hint = run_input_hint(run)
        if hint and str(hint) not in str(exc):
            raise CheckFailure(N_("{exc}{hint}"),
                       exc=exc, hint=hint) from None
        raise


def says(talk: Dialogue, line: str, typed: bool = False) -> bytes:
    """``talk.program_says``, naming the encoding when the bytes differ only by it."""
    conn = talk.conn
    start = len(conn.received) - len(conn.pending)
    with naming_input_wait(talk.run), naming_encoding_faults(line, wire=lambda: bytes(conn.received[start:])):
        return talk.program_says(line, typed=typed)


def hears(talk: Dialogue, text: str, what: str | Msg = N_("the message it received")) -> None:
    """``talk.peer_says``, naming the decoding fault when the text is printed garbled."""
    with naming_input_wait(talk.run), naming_encoding_faults(text, output=lambda: talk.run.out):
        talk.peer_says(text, what=Msg(what) if isinstance(what, str) else what)


def exits_after_bye(listener: TcpListener, run, limits, port: int, reply: str, bye: str) -> None:
    """A client that was given one line and then ``bye``: one turn (its line, our ``reply``), then it sends
    ``bye`` and exits with status 0."""
    conn = accept(listener, run, limits, port)
    conn.recv(limits.step_s)
    conn.send(reply.encode())
    conn.recv_until(bye, limits.step_s)
    exits_zero(run, limits.step_s, Msg(N_("after sending {bye}"), {"bye": repr(bye)}))


def expect_fin(conn: TcpConn, run, limits, what: str) -> None:
    how = conn.wait_close(limits.step_s)
    if how is None:
        fail(N_("expected {what} to close the connection (FIN) within {step_s:g} s; it stayed open{ended}"),
             what=what, step_s=limits.step_s, ended=ended_note(run))
    if how == "rst":
        fail(N_("expected {what} to close the connection in order (FIN); it was reset (RST, an abortive close: "
                "SO_LINGER 0, or unread data left in the socket)"),
             what=what)


# ================================================================== tcp-chat-server

CHAT_MSGS = ["hello server", "第二条消息 ok"]
CHAT_REPLIES = ["hi client", "收到，谢谢"]


@check("tcp-chat-server", "must", "every client message is printed", id="prints-messages", sheet="000 §3.1.1",
       hint=N_("Print each message recv() returns (decoded), every turn."))
def test_tcp_chat_server_prints_messages(sandbox, program, limits):
    run = program.start_server(stdin=CHAT_REPLIES)
    conn = connect(sandbox, run, limits)
    talk = Dialogue(run, conn, limits.step_s, Msg(N_("the server")))
    for msg in CHAT_MSGS:
        hears(talk, msg)
        conn.recv(limits.step_s)  # its reply (checked by the next check) lets the turn pass


@check("tcp-chat-server", "must", "every stdin line reaches the client, in order", id="sends-replies",
       sheet="000 §3.1.1",
       hint=N_("After each message, input() a reply and send(reply.encode()) on the accepted socket."))
def test_tcp_chat_server_sends_replies(sandbox, program, limits):
    run = program.start_server(stdin=CHAT_REPLIES)
    conn = connect(sandbox, run, limits)
    talk = Dialogue(run, conn, limits.step_s, Msg(N_("the server")))
    for msg, reply in zip(CHAT_MSGS, CHAT_REPLIES):
        talk._log("peer", msg)
        if not conn.send(msg.encode()):
            fail(N_("could not send {sent_line}{ended}"),
                 sent_line=repr(msg), ended=ended_note(run))
        says(talk, reply)


@check("tcp-chat-server", "must", "the client's bye ends it: close, exit 0", id="client-bye", sheet="000 §3.1.1",
       hint=N_("while info != 'see you': ...; then close both sockets."))
def test_tcp_chat_server_client_bye(sandbox, program, spec, limits):
    bye = spec.expect["bye"]
    run = program.start_server(stdin=CHAT_REPLIES[:1])
    conn = connect(sandbox, run, limits)
    conn.send(CHAT_MSGS[0].encode())
    conn.recv(limits.step_s)
    conn.send(bye.encode())
    sandbox.evidence.note(Msg(N_("peer said {line}: the server should close and exit"), {"line": repr(bye)}))
    expect_fin(conn, run, limits, Msg(N_("the server after the client's {bye}"),
            {"bye": repr(bye)}))
    exits_zero(run, limits.step_s, Msg(N_("after the client sent {bye}"),
            {"bye": repr(bye)}))


@check("tcp-chat-server", "must", "the operator's bye is sent, then it closes and exits 0", id="operator-bye",
       sheet="000 §3.1.1",
       hint=N_("Send the reply first; if it was 'see you', break, close and exit."))
def test_tcp_chat_server_operator_bye(sandbox, program, spec, limits):
    bye = spec.expect["bye"]
    run = program.start_server(stdin=[bye])
    conn = connect(sandbox, run, limits)
    talk = Dialogue(run, conn, limits.step_s, Msg(N_("the server")))
    conn.send(CHAT_MSGS[0].encode())
    says(talk, bye)
    expect_fin(conn, run, limits, Msg(N_("the server after sending {bye}"),
            {"bye": repr(bye)}))
    exits_zero(run, limits.step_s, Msg(N_("after the operator typed {bye}"),
            {"bye": repr(bye)}))


@check("tcp-chat-server", "should", "exits cleanly (no traceback, no busy loop) when the client just disconnects",
       id="client-disconnects",
       sheet="000 §3.1.1", hint=N_("recv() returns b'' when the client closed: leave the loop then."))
def test_tcp_chat_server_client_disconnects(sandbox, program, limits):
    """Sheet: "exits cleanly (no traceback, no busy loop) when the client just disconnects".  One turn, then
    the client closes (FIN) without the bye: the server must end soon (the few seconds of a step), without
    a traceback and without spinning; an RST is not sent here (the chat lines do not name it; the qq
    server's line, "disconnects without exit", is checked with both)."""
    run = program.start_server(stdin=CHAT_REPLIES)
    conn = connect(sandbox, run, limits)
    conn.send(CHAT_MSGS[0].encode())
    conn.recv(limits.step_s)
    conn.close()
    ends_cleanly(run, Msg(N_("after the client disconnected (FIN, without the bye)")), limits, zero=False)


@check("tcp-chat-server", "extra", "interop: a conversation with the reference chat client", id="with-reference",
       sheet="000 §3.1")
def test_tcp_chat_server_with_reference(sandbox, program, reference, spec, limits):
    run = program.start_server(stdin=["参考回复"])
    client = reference.start("tcp-chat-client", stdin=["来自参考客户端", spec.expect["bye"]], args=at(run))
    prints_text(run, "来自参考客户端", limits.step_s, Msg(N_("the reference client's message")))
    prints(client, "参考回复", limits.step_s, Msg(N_("the reference client prints the server's reply")))
    exits_zero(run, limits.step_s, Msg(N_("after the reference client said {bye}"),
            {"bye": repr(spec.expect['bye'])}))


# ================================================================== tcp-chat-client

CLIENT_LINES = ["hello from the client", "我是客户端"]
SERVER_REPLIES = ["hello from the grader", "我是服务器"]


def _chat_client(sandbox, program, spec, lines):
    listener = TcpListener(sandbox, program.port)
    run = program.start(stdin=lines)
    return listener, run


@check("tcp-chat-client", "must", "each stdin line is sent, in order", id="sends-lines", sheet="000 §3.1.2",
       hint=N_("send(line.encode()) exactly the line, one per turn."))
def test_tcp_chat_client_sends_lines(sandbox, program, spec, limits):
    bye = spec.expect["bye"]
    listener, run = _chat_client(sandbox, program, spec, CLIENT_LINES + [bye])
    conn = accept(listener, run, limits, program.port)
    talk = Dialogue(run, conn, limits.step_s, Msg(N_("the client")))
    for line, reply in zip(CLIENT_LINES, SERVER_REPLIES):
        says(talk, line)
        conn.send(reply.encode())
    says(talk, bye)


@check("tcp-chat-client", "must", "each reply is printed", id="prints-replies", sheet="000 §3.1.2",
       hint=N_("After sending, recv() the reply and print it."))
def test_tcp_chat_client_prints_replies(sandbox, program, spec, limits):
    listener, run = _chat_client(sandbox, program, spec, CLIENT_LINES + [spec.expect["bye"]])
    conn = accept(listener, run, limits, program.port)
    talk = Dialogue(run, conn, limits.step_s, Msg(N_("the client")))
    for reply in SERVER_REPLIES:
        if conn.recv(limits.step_s) is None:
            fail(N_("expected the client to send a line before waiting for a reply; nothing came{ended}"),
                 ended=ended_note(run))
        hears(talk, reply, what=Msg(N_("the server's reply")))


@check("tcp-chat-client", "must", "exits 0 after the bye", id="exits-after-bye", sheet="000 §3.1.2",
       hint=N_("After sending 'see you', close the socket and leave the loop."))
def test_tcp_chat_client_exits_after_bye(sandbox, program, spec, limits):
    bye = spec.expect["bye"]
    listener, run = _chat_client(sandbox, program, spec, CLIENT_LINES[:1] + [bye])
    exits_after_bye(listener, run, limits, program.port, SERVER_REPLIES[0], bye)


@check("tcp-chat-client", "should", "exits cleanly with a message when the server closes", id="server-closes",
       sheet="000 §3.1.2",
       hint=N_("recv() returns b'' when the server closed: print a message and stop."))
def test_tcp_chat_client_server_closes(sandbox, program, spec, limits):
    """Sheet: "exits cleanly with a message when the server closes the connection".  The grader closes (FIN)
    instead of replying to the first line; the client must end soon, with a message and no traceback.
    The grader keeps listening: a client that connects again instead of ending shows as still running."""
    listener, run = _chat_client(sandbox, program, spec, CLIENT_LINES)
    conn = accept(listener, run, limits, program.port)
    conn.recv(limits.step_s)
    before = run.stdout.total
    conn.close()
    sandbox.evidence.note(Msg(N_("peer closed the connection instead of replying")))
    try:
        ends_cleanly(run, Msg(N_("after the server closed the connection")), limits, zero=False)
    except CheckFailure as exc:
        again = listener.accept(0.0)
        if again is None:
            raise
        raise CheckFailure(N_("{exc}; it had connected again (a new connection after the server closed the first)"),
                   exc=exc
                           ) from None
    if run.stdout.total <= before and not run.err.strip():
        fail(N_("the client ended after the server closed, but printed no message saying so"))


@check("tcp-chat-client", "should", "exits cleanly with a message when the server cannot be reached", id="unreachable",
       sheet="000 §3.1.2", hint=N_("Catch ConnectionRefusedError around connect() and print a message."))
def test_tcp_chat_client_unreachable(sandbox, program, limits):
    run = program.start(stdin=CLIENT_LINES)
    ends_cleanly(run, Msg(N_("when nothing listens on port {port}"),
            {"port": program.port}), limits, zero=False)
    if not (run.out.strip() or run.err.strip()):
        fail(N_("the client ended when nothing listened on port {port}, but printed no message"),
             port=program.port)


@check("tcp-chat-client", "extra", "interop: a conversation with the reference chat server", id="with-reference",
       sheet="000 §3.1")
def test_tcp_chat_client_with_reference(sandbox, program, reference, spec, limits):
    server = reference.start("tcp-chat-server", stdin=["参考服务器回复"])
    run = program.start(stdin=["学生客户端", spec.expect["bye"]])
    prints(server, "学生客户端", limits.step_s, Msg(N_("the reference server prints the client's line")))
    prints_text(run, "参考服务器回复", limits.step_s, Msg(N_("the reference server's reply")))
    exits_zero(run, limits.step_s, Msg(N_("after {bye}"),
            {"bye": repr(spec.expect['bye'])}))


# ================================================================== tcp-thanks-server

THANKS_MSG = "hello, 服务器"
UNASKED_S = 0.3  # the window after connecting in which a server that waits for the message sends nothing


def _thanks_exchange(sandbox, program, spec, limits):
    """Connect, send one message, read the reply until it is complete or the server closed."""
    run = program.start_server()
    conn = connect(sandbox, run, limits)
    conn.send(THANKS_MSG.encode())
    got = receive_text(conn, spec.expect["reply"].encode(), limits.step_s)
    return run, conn, got


@check("tcp-thanks-server", "must", "the reply equals the pack's text", id="reply", sheet="001 §3.3.1; 003 §3",
       hint=N_("send(<the expected text>.encode('utf-8')) exactly, nothing more."))
def test_tcp_thanks_server_reply(sandbox, program, spec, limits):
    """Sheet: "receives one message, prints it, replies ``Thank you!``"; must: the reply equals the pack's
    text.  The reply answers the message: the grader waits a moment after connecting before it sends,
    and anything that comes before its message is no reply (order of events on the wire)."""
    run = program.start_server()
    conn = connect(sandbox, run, limits)
    early = conn.quiet(UNASKED_S)
    if early:
        fail(N_("the server sent {bytes} within {unasked_s:g} s of the connection, before it received any message: "
                "the reply must answer the client's message"),
             bytes=show_bytes(early), unasked_s=UNASKED_S)
    conn.send(THANKS_MSG.encode())
    got = receive_text(conn, spec.expect["reply"].encode(), limits.step_s)
    want = spec.expect["reply"].encode()
    if not got:
        fail(N_("expected the reply {bytes}; got nothing{ended}{waiting}"),
             bytes=show_bytes(want), ended=ended_note(run), waiting=run_input_hint(run))
    extra = conn.quiet(0.0)
    if got + extra != want:
        fail(N_("reply: expected {bytes}, got {bytes2}{encoding_note}"),
             bytes=show_bytes(want), bytes2=show_bytes(got + extra),
             encoding_note=encoding_note(spec.expect["reply"], got + extra))


@check("tcp-thanks-server", "must", "the message is printed", id="prints-message", sheet="001 §3.3.1",
       hint=N_("print(data.decode('utf-8')) after recv()."))
def test_tcp_thanks_server_prints_message(sandbox, program, spec, limits):
    run, conn, got = _thanks_exchange(sandbox, program, spec, limits)
    prints_text(run, THANKS_MSG, limits.step_s, Msg(N_("the message it received")))


@check("tcp-thanks-server", "must", "the server closes the connection", id="closes", sheet="001 §3.3.1",
       hint=N_("new_socket.close() after sending the reply."))
def test_tcp_thanks_server_closes(sandbox, program, spec, limits):
    run, conn, got = _thanks_exchange(sandbox, program, spec, limits)
    expect_fin(conn, run, limits, Msg(N_("the server after its reply")))
    if conn.first_closer != "program":
        fail(N_("expected the server to close first; the grader's side closed before it"))


@check("tcp-thanks-server", "must", "exits 0 after serving the client", id="exits", sheet="001 §3.3.1")
def test_tcp_thanks_server_exits(sandbox, program, spec, limits):
    run, conn, got = _thanks_exchange(sandbox, program, spec, limits)
    conn.wait_close(limits.step_s)
    conn.close()
    exits_zero(run, limits.step_s, Msg(N_("after serving one client")))


@check("tcp-thanks-server", "should", "starts again at once while the old connection is in TIME_WAIT", id="restart",
       sheet="003 §7", hint=N_("server_socket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind()."))
def test_tcp_thanks_server_restart(sandbox, program, spec, limits):
    run, conn, got = _thanks_exchange(sandbox, program, spec, limits)
    # The server must close first so the TIME_WAIT is on its side of the connection.
    if conn.wait_close(limits.step_s) is None:
        sandbox.evidence.note(Msg(N_("the server did not close; the peer closes instead (TIME_WAIT will be on our"
                                     " side)")))
    conn.close()
    if run.wait_exit(limits.step_s) is None:
        run.kill()  # not this line's business (the must check reports it); its sockets go with it
    port = run.listener.port  # the sheet's, or the one the server really uses
    waits = [s for s in tcp_states(sandbox, port) if s[2] == "TIME_WAIT"]
    sandbox.evidence.note(Msg(N_("TIME_WAIT on port {port}: {waits}"), {"port": port, "waits": str(waits) if waits
                                                                           else Msg(N_("none"))}))
    try:
        second = program.start_server()
    except CheckFailure as exc:
        fail(N_("started again right after serving a client (the old connection in TIME_WAIT on port {port}), the "
                "server did not come up: {exc}"),
             port=port, exc=exc)
    if second.listener.port != port:
        fail(N_("started again right after serving a client (the old connection in TIME_WAIT on port {port}), the "
                "server listens on {listener} instead of port {port}: clients cannot find it (it moved to another "
                "port instead of reusing its own with SO_REUSEADDR)"),
             port=port, listener=second.listener)
    conn2 = connect(sandbox, second, limits, label=Msg(N_("second peer")))
    conn2.send(THANKS_MSG.encode())
    if not receive_text(conn2, spec.expect["reply"].encode(), limits.step_s):
        fail(N_("the restarted server accepted a connection but sent no reply{ended}"),
             ended=ended_note(second))


@check("tcp-thanks-server", "extra", "interop: the reference client prints the reply", id="with-reference",
       sheet="001 §3.3")
def test_tcp_thanks_server_with_reference(sandbox, program, reference, spec, limits):
    run = program.start_server()
    client = reference.start("tcp-thanks-client", stdin="参考客户端 thanks?", args=at(run))
    prints(client, spec.expect["reply"], limits.step_s, Msg(N_("the reference client prints the server's reply")))


# ================================================================== tcp-thanks-client

THANKS_LINE = "hello 你好, server"
THANKS_REPLY_EXTRA = " (谢谢, from the grader)"


def _thanks_client(sandbox, program, limits, line=THANKS_LINE):
    listener = TcpListener(sandbox, program.port)
    run = program.start(stdin=line)
    return accept(listener, run, limits, program.port), run


def _reply_and_close(conn: TcpConn, spec) -> None:
    """What a thanks server does: reply, then close first."""
    conn.send(spec.expect["reply"].encode())
    conn.close()


@check("tcp-thanks-client", "must", "the line arrives whole", id="line-arrives", sheet="001 §3.3.2",
       hint=N_("send(line.encode('utf-8')): the whole line, no newline added."))
def test_tcp_thanks_client_line_arrives(sandbox, program, spec, limits):
    conn, run = _thanks_client(sandbox, program, limits)
    want = THANKS_LINE.encode()
    got = receive_text(conn, want, limits.step_s)
    got += conn.quiet(0.0)
    if got != want:
        nl = Msg(N_(" (a newline was sent too)")) if got.rstrip(b"\r\n") == want else ""
        fail(N_("expected {bytes} ({n_want} bytes), got {bytes2} ({n_got} bytes){nl}{encoding_note}{ended}"),
             bytes=show_bytes(want), n_want=len(want), bytes2=show_bytes(got), n_got=len(got), nl=nl,
             encoding_note=encoding_note(THANKS_LINE, got), ended=ended_note(run))
    _reply_and_close(conn, spec)


@check("tcp-thanks-client", "must", "the reply is printed", id="prints-reply", sheet="001 §3.3.2",
       hint=N_("recv() the reply and print it, decoded."))
def test_tcp_thanks_client_prints_reply(sandbox, program, spec, limits):
    """Sheet: "prints the reply".  What the server sent, whatever it is: the grader's reply is the pack's
    text with Chinese added, so a client that prints the text it expects (not what it received), or
    decodes it with another encoding than UTF-8, shows."""
    conn, run = _thanks_client(sandbox, program, limits)
    conn.recv(limits.step_s)
    reply = spec.expect["reply"] + THANKS_REPLY_EXTRA
    conn.send(reply.encode())
    conn.close()
    prints_text(run, reply, limits.step_s, Msg(N_("the server's reply")))


@check("tcp-thanks-client", "must", "exits 0", id="exits", sheet="001 §3.3.2")
def test_tcp_thanks_client_exits(sandbox, program, spec, limits):
    conn, run = _thanks_client(sandbox, program, limits)
    conn.recv(limits.step_s)
    _reply_and_close(conn, spec)
    exits_zero(run, limits.step_s, Msg(N_("after printing the reply")))


@check("tcp-thanks-client", "extra", "interop: works with the reference thanks server", id="with-reference",
       sheet="001 §3.3")
def test_tcp_thanks_client_with_reference(sandbox, program, reference, spec, limits):
    server = reference.start("tcp-thanks-server")
    run = program.start(stdin="学生 thanks client")
    prints(server, "学生 thanks client", limits.step_s, Msg(N_("the reference server prints the line")))
    prints_text(run, spec.expect["reply"], limits.step_s, Msg(N_("the reference server's reply")))
    exits_zero(run, limits.step_s, Msg(N_("after the reply")))


# ================================================================== tcp-qq-server

# Five turns: a "conversation of several turns" is more than the two or three a fixed loop serves.
QQ_MSGS = ["你好 qq", "second turn", "third turn 三", "fourth 四", "fifth turn"]
QQ_REPLIES = ["hi there", "回复二", "reply three", "回复四", "reply five"]


def _qq_turns(talk: Dialogue, conn: TcpConn, msgs, replies) -> None:
    for msg, reply in zip(msgs, replies):
        hears(talk, msg)
        says(talk, reply)


def _served(run, conn: TcpConn, msg: str, limits, who: str | Msg) -> None:
    """``who`` is served: its message is printed and some reply comes back (exact texts: the conversation check)."""
    hears(Dialogue(run, conn, limits.step_s, Msg(N_("the server ({who})"),
                  {"who": Msg(who)})), msg)
    if not conn.recv(limits.step_s):
        fail(N_("{who}: the server printed the message but sent no reply within {step_s:g} s{ended}"),
             who=Msg(who), step_s=limits.step_s, ended=ended_note(run))


@check("tcp-qq-server", "must", "a conversation of several turns works", id="conversation", sheet="001 §3.3.3",
       hint=N_("Loop: recv, print, input() a reply, send it."))
def test_tcp_qq_server_conversation(sandbox, program, limits):
    run = program.start_server(stdin=QQ_REPLIES)
    conn = connect(sandbox, run, limits)
    _qq_turns(Dialogue(run, conn, limits.step_s, Msg(N_("the server"))), conn, QQ_MSGS, QQ_REPLIES)


@check("tcp-qq-server", "must", "after one client sends exit, a second client is served", id="second-client",
       sheet="001 §3.3.3",
       hint=N_("Outer loop around accept(); on 'exit' close this client's socket and accept the next."))
def test_tcp_qq_server_second_client(sandbox, program, spec, limits):
    run = program.start_server(stdin=[QQ_REPLIES[0], QQ_REPLIES[1]])
    first = connect(sandbox, run, limits, label=N_("client 1"))
    _served(run, first, QQ_MSGS[0], limits, N_("client 1"))
    first.send(spec.expect["bye"].encode())
    first.wait_close(limits.step_s)
    first.close()
    second = connect(sandbox, run, limits, label=N_("client 2"))
    _served(run, second, QQ_MSGS[1], limits, Msg(N_("client 2, after client 1 sent {bye}"),
                                                 {"bye": repr(spec.expect["bye"])}))


@check("tcp-qq-server", "should", "a client that leaves without exit (FIN or RST): no crash, no spin, next served",
       id="client-leaves",
       sheet="001 §3.3.3", hint=N_("recv() returns b'' (or raises ConnectionResetError): close it, accept the next."))
def test_tcp_qq_server_client_leaves(sandbox, program, limits):
    run = program.start_server(stdin=QQ_REPLIES)
    one = connect(sandbox, run, limits, label=N_("client 1 (leaves with FIN)"))
    _served(run, one, QQ_MSGS[0], limits, N_("client 1"))
    one.close()
    not_spinning(run, "after client 1 disconnected without 'exit'")
    no_crash(run, Msg(N_("after client 1 disconnected without 'exit' (FIN)")))
    two = connect(sandbox, run, limits, label=N_("client 2 (leaves with RST)"))
    _served(run, two, QQ_MSGS[1], limits, N_("client 2, after client 1 left without 'exit'"))
    two.abort()
    not_spinning(run, "after client 2 reset its connection")
    no_crash(run, Msg(N_("after client 2 reset its connection (RST)")))
    three = connect(sandbox, run, limits, label=N_("client 3"))
    _served(run, three, QQ_MSGS[2], limits, N_("client 3, after two clients left without 'exit'"))


@check("tcp-qq-server", "extra", "interop: the reference QQ client talks to it", id="with-reference",
       sheet="001 §3.3.3")
def test_tcp_qq_server_with_reference(sandbox, program, reference, spec, limits):
    run = program.start_server(stdin=["参考回复 qq"])
    client = reference.start("tcp-qq-client", stdin=["参考 QQ 客户端", spec.expect["bye"]], args=at(run))
    prints_text(run, "参考 QQ 客户端", limits.step_s, Msg(N_("the reference client's message")))
    prints(client, "参考回复 qq", limits.step_s, Msg(N_("the reference client prints the reply")))


# ================================================================== tcp-qq-client

QQ_LINES = ["hello qq server", "第二句"]


@check("tcp-qq-client", "must", "each line is sent and each reply printed, in order", id="conversation",
       sheet="001 §3.3.3",
       hint=N_("Loop: input, send, recv, print('服务器：', reply)."))
def test_tcp_qq_client_conversation(sandbox, program, spec, limits):
    bye = spec.expect["bye"]
    listener = TcpListener(sandbox, program.port)
    run = program.start(stdin=QQ_LINES + [bye])
    conn = accept(listener, run, limits, program.port)
    talk = Dialogue(run, conn, limits.step_s, Msg(N_("the client")))
    for line, reply in zip(QQ_LINES, QQ_REPLIES):
        says(talk, line)
        hears(talk, reply, what=Msg(N_("the server's reply")))
    says(talk, bye)


@check("tcp-qq-client", "must", "exits 0 after exit", id="exits-after-exit", sheet="001 §3.3.3",
       hint=N_("After sending 'exit', close and break."))
def test_tcp_qq_client_exits_after_exit(sandbox, program, spec, limits):
    bye = spec.expect["bye"]
    listener = TcpListener(sandbox, program.port)
    run = program.start(stdin=QQ_LINES[:1] + [bye])
    exits_after_bye(listener, run, limits, program.port, QQ_REPLIES[0], bye)


@check("tcp-qq-client", "should", "an empty line is not sent and does not leave it waiting", id="empty-line",
       sheet="001 §3.3.3",
       hint=N_("if not line: continue  (before recv(), not only before send())."))
def test_tcp_qq_client_empty_line(sandbox, program, spec, limits):
    """Sheet: "an empty line is not sent and does not leave the client waiting for a reply that never
    comes".  Empty lines first of all (before any message) and between two messages."""
    listener = TcpListener(sandbox, program.port)
    run = program.start(stdin=["", QQ_LINES[0], "", QQ_LINES[1], spec.expect["bye"]])
    conn = accept(listener, run, limits, program.port)
    for i, (where, line) in enumerate(((N_("as the first line"), QQ_LINES[0]),
                                       (N_("between two messages"), QQ_LINES[1]))):
        want = line.encode()
        got = conn.recv_until(want, limits.step_s)
        if got is None:
            seen = bytes(conn.pending)
            if seen:
                fail(N_("after an empty line {where}, expected the next line {bytes}; got {bytes2}{encoding_note}"),
                     where=Msg(where), bytes=show_bytes(want), bytes2=show_bytes(seen),
                     encoding_note=encoding_note(line, seen))
            if not run.running:
                fail(N_("after an empty line {where} the client ended: {crash}"),
                     where=Msg(where), crash=run.crash_summary())
            fail(N_("after an empty line {where}, the client never sent the next line {bytes} within {step_s:g} s: "
                    "it waits for a reply to a message that was never sent"),
                 where=Msg(where), bytes=show_bytes(want), step_s=limits.step_s)
        if got != want:
            fail(N_("after an empty line {where}, expected exactly {bytes}; got {bytes2}{encoding_note}"),
                 where=where, bytes=show_bytes(want), bytes2=show_bytes(got), encoding_note=encoding_note(line, got))
        if not i:
            conn.send(QQ_REPLIES[0].encode())


@check("tcp-qq-client", "extra", "interop: works with the reference QQ server", id="with-reference", sheet="001 §3.3.3")
def test_tcp_qq_client_with_reference(sandbox, program, reference, spec, limits):
    server = reference.start("tcp-qq-server", stdin=["参考服务器 qq"])
    run = program.start(stdin=["学生 qq", spec.expect["bye"]])
    prints(server, "学生 qq", limits.step_s, Msg(N_("the reference server prints the line")))
    prints_text(run, "参考服务器 qq", limits.step_s, Msg(N_("the reference server's reply")))
    exits_zero(run, limits.step_s, Msg(N_("after {bye}"),
            {"bye": repr(spec.expect['bye'])}))


# ================================================================== tcp-sink-server

SINK_MSGS = ["first message", "第二条 ünïcode", "third: " + "x" * 200]
SEGMENT_GAP_S = 0.02  # traffic shape: separate writes leave as separate segments


def _sink_session(sandbox, program, limits):
    run = program.start_server()
    conn = connect(sandbox, run, limits)
    for i, msg in enumerate(SINK_MSGS):
        if i:
            time.sleep(SEGMENT_GAP_S)
        conn.send(msg.encode())
    return run, conn


@check("tcp-sink-server", "must", "every byte the client sent is printed, in order", id="prints-all", sheet="004 §5",
       hint=N_("Loop on recv() and print every chunk; one connection carries many messages."))
def test_tcp_sink_server_prints_all(sandbox, program, limits):
    run, conn = _sink_session(sandbox, program, limits)
    run.wait_output(SINK_MSGS[-1], limits.step_s)
    out, pos = run.out, 0
    for msg in SINK_MSGS:
        at = out.find(msg, pos)
        if at < 0:
            where = "" if msg not in out else Msg(N_(" (it appears, but out of order)"))
            garbled = describe_misdecoded_output(msg, out)
            fail(N_("expected the output to contain {sent_line} after the earlier messages{where}; output was: "
                    "{output}{ended}{garbled_note}"),
                 sent_line=repr(msg), where=where, output=short(out.strip(), 300) or Msg(N_("(nothing)")),
                 ended=ended_note(run), garbled_note=Msg(N_(": {garbled}"),
                        {"garbled": garbled}) if garbled else "")
        pos = at + len(msg)
    conn.close()


@check("tcp-sink-server", "must", "exits 0 soon after the client closes, without a busy loop", id="exits-on-close",
       sheet="004 §5, §7",
       hint=N_("if not recv_data: break  — b'' means the client closed; then close and exit."))
def test_tcp_sink_server_exits_on_close(sandbox, program, limits):
    run, conn = _sink_session(sandbox, program, limits)
    run.wait_output(SINK_MSGS[-1], limits.step_s)
    conn.close()
    ends_cleanly(run, Msg(N_("after the client closed the connection (FIN)")), limits)


@check("tcp-sink-server", "extra", "interop: prints what the reference sink client sent", id="with-reference",
       sheet="004 §5")
def test_tcp_sink_server_with_reference(sandbox, program, reference, limits):
    run = program.start_server()
    reference.start("tcp-sink-client", stdin=["参考 sink 1", "参考 sink 2", "exit"], args=at(run))
    prints_text(run, "参考 sink 2", limits.step_s, Msg(N_("the reference client's lines")))
    exits_zero(run, limits.step_s, Msg(N_("after the reference client closed")))


# ================================================================== tcp-sink-client

SINK_LINES = ["line one", "第二行", "line three"]


def _sink_client(sandbox, program, spec, limits, listener=None):
    """Accept the client's connection and read until it closes; then close our side, as the sheet's sink
    server does when recv() returns b'' (a client that half-closes and waits for that close may)."""
    listener = listener or TcpListener(sandbox, program.port)
    run = program.start(stdin=SINK_LINES + [spec.expect["bye"]])
    conn = accept(listener, run, limits, program.port)
    how = conn.wait_close(limits.step_s)
    data = bytes(conn.pending)
    conn.pending.clear()
    if how == "fin":
        conn.close()
    return run, conn, how, data


def _strip_bye(data: bytes, bye: str) -> bytes:
    """``data`` without a trailing bye (with its line end, if any): whether it is sent is another check's."""
    for end in ("\r\n", "\n", ""):
        if data.endswith((bye + end).encode()):
            return data[: len(data) - len((bye + end).encode())]
    return data


@check("tcp-sink-client", "must", "every line before exit arrives, in order", id="lines-arrive", sheet="004 §5",
       hint=N_("Connect once, then send(line.encode()) for each line until 'exit' (one long connection)."))
def test_tcp_sink_client_lines_arrive(sandbox, program, spec, limits):
    """Sheet: "every line before exit arrives, in order" over the one connection the client makes ("connects
    ...; sends each stdin line until exit"; 004 §7's long connection).  A client that connects again for
    each line (short connections) delivers only its first line on the connection it made; the message
    names the other connections."""
    listener = TcpListener(sandbox, program.port)
    run, conn, how, data = _sink_client(sandbox, program, spec, limits, listener)
    want = "".join(SINK_LINES).encode()
    seen = _strip_bye(data, spec.expect["bye"])
    if seen != want and seen.replace(b"\r\n", b"").replace(b"\n", b"") != want:
        more = 0
        while listener.accept(0.2 if not more else 0.0) is not None:
            more += 1
        again = (Msg(N_("; it then connected again {more} time(s): a new connection for later lines (short connections), "
                    "where the sheet's sink client keeps one connection for every line"),
                {"more": more})) if more else ""
        fail(N_("expected the lines {sink_lines} in order on its connection, i.e. {bytes}; received "
                "{bytes2}{again}{encoding_note}{ended}"),
             sink_lines=SINK_LINES, bytes=show_bytes(want), bytes2=show_bytes(data), again=again,
             encoding_note=encoding_note("".join(SINK_LINES), data), ended=ended_note(run))


@check("tcp-sink-client", "must", "exit is not sent", id="exit-not-sent", sheet="004 §5",
       hint=N_("Test for 'exit' before send(), and break."))
def test_tcp_sink_client_exit_not_sent(sandbox, program, spec, limits):
    run, conn, how, data = _sink_client(sandbox, program, spec, limits)
    bye = spec.expect["bye"].encode()
    if bye in data:
        fail(N_("expected {bytes} not to be sent; received {bytes2}"),
             bytes=show_bytes(bye), bytes2=show_bytes(data))


@check("tcp-sink-client", "must", "the connection is closed with FIN (an orderly close)", id="closes-with-fin",
       sheet="004 §5",
       hint=N_("tcp_client_socket.close() after the loop."))
def test_tcp_sink_client_closes_with_fin(sandbox, program, spec, limits):
    run, conn, how, data = _sink_client(sandbox, program, spec, limits)
    if how is None:
        fail(N_("expected the client to close the connection after {bye}; it stayed open {step_s:g} "
                "s{ended}"),
             bye=repr(spec.expect['bye']), step_s=limits.step_s, ended=ended_note(run))
    if how == "rst":
        fail(N_("expected an orderly close (FIN); the connection was reset (RST, an abortive close)"))


@check("tcp-sink-client", "must", "exits 0 after exit", id="exits", sheet="004 §5")
def test_tcp_sink_client_exits(sandbox, program, spec, limits):
    run, conn, how, data = _sink_client(sandbox, program, spec, limits)
    exits_zero(run, limits.step_s, Msg(N_("after {bye}"),
            {"bye": repr(spec.expect['bye'])}))


@check("tcp-sink-client", "extra", "interop: the reference sink server prints its lines", id="with-reference",
       sheet="004 §5")
def test_tcp_sink_client_with_reference(sandbox, program, reference, spec, limits):
    server = reference.start("tcp-sink-server")
    run = program.start(stdin=["学生 sink a", "学生 sink b", spec.expect["bye"]])
    prints(server, "学生 sink b", limits.step_s, Msg(N_("the reference server prints the lines")))
    exits_zero(run, limits.step_s, Msg(N_("after {bye}"),
            {"bye": repr(spec.expect['bye'])}))
