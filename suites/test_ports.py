"""Every program uses the sheet's port (one check per program).

Sheet: each program's heading names its port.  Real submissions often use a
port of their own; the other checks then grade the server where it listens
(found in the sandbox's socket table), so one wrong constant costs this one
check, not the program.  Its level is must; an instructor may lower it per
program in the pack: ``[checks."tcp-thanks-server/port"] level = "should"``.

Clients likewise: a client that sends to a port of its own is redirected to
the grader's peer on the sheet's port (inside its sandbox), so its other
checks grade what it does; this check reports the port it used.

Addresses (one "address" check per program, level extra: reported, no
points by default).  The sheet's conventions say clients talk to 127.0.0.1
and servers bind all interfaces, 127.0.0.1 or the host name's address, and
that a pack may declare lab addresses a class was told to use; none of its
must or should lines names the address, and a program that hard-codes its
own machine's LAN address works there.  So the other checks grade such a
program as written (the sandbox's catch-all delivers any address to the
grader's peer, and a server bound to a LAN address gets that address), and
this check reports the address it really used: the destination before the
sandbox rewrote it (conntrack), or the address it bound.  An instructor who
wants it graded raises the level in the pack:
``[checks."udp-send/address"] level = "should"``.
"""
from __future__ import annotations

import select
import socket
import struct
import time

from netgrade.checks import (
    N_,
    Msg,
    TcpListener,
    UdpPeer,
    ended_note,
    fail,
    fmt_addr,
    original_destination,
    per_program,
    run_input_hint,
    sheet_address,
    sheet_addresses_text,
)

CLIENT_LINES = ["hello", "hello", "hello"]
# A client whose input is a number: typed a number, so one that checks its input still sends.
CLIENT_LINES_FOR = {"udp-area-client": ["3", "3", "3"]}


def client_lines(program) -> list[str]:
    return CLIENT_LINES_FOR.get(program.id, CLIENT_LINES)


@per_program("server", "server", "must",
             lambda p: Msg(N_("listens on {transport} port {port}"), {"transport": p.transport.upper(), "port": p.port}),
             id="port",
             hint=lambda p: Msg(N_("bind(('', {port})): the port the sheet gives, which clients use."),
                                {"port": p.port}))
def test_server_port(server, sandbox, program):
    run = program.start_server()  # fails, saying why, when it listens nowhere
    if run.listener.port != program.port:
        fail(N_("listening on {listener}; the sheet says {transport} port {port}"),
             listener=run.listener, transport=program.spec.transport.upper(), port=program.port)


@per_program("client", "client", "must",
             lambda p: Msg(N_("sends to {transport} port {port}"), {"transport": p.transport.upper(), "port": p.port}),
             id="port",
             hint=lambda p: Msg(N_("Send to ('127.0.0.1', {port}): the port the sheet gives, where the server"
                                   " listens."), {"port": p.port}))
def test_client_port(client, sandbox, program, limits):
    proto = program.spec.transport
    udp = UdpPeer(sandbox, program.port) if proto == "udp" else None
    tcp = TcpListener(sandbox, program.port) if proto == "tcp" else None
    run = program.start(stdin=client_lines(program))
    if udp is not None:
        contact = udp.recv(limits.step_s, expect_from=program.id) is not None
    else:
        conn = tcp.accept(limits.step_s)
        contact = conn is not None
        if conn is not None:
            conn.close()
    used = sandbox.redirected_ports(run)
    if used:
        fail(N_("sent to {transport} port {ports}; the sheet says port {port}"),
             transport=proto.upper(), ports=', '.join(map(str, used)), port=program.port)
    if not contact:
        fail(no_contact(program, run, limits))


def no_contact(program, run, limits) -> Msg:
    ended = ended_note(run)
    return (Msg(N_("expected the client to reach {transport} port {port} within {step_s:g} s after a line of input; it did "
                "not{ended}{waiting}"),
            {"transport": program.spec.transport.upper(), "port": program.port, "step_s": limits.step_s, "ended": ended,
             "waiting": run_input_hint(run, contact=False)}))


# ------------------------------------------------------------------ addresses

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h: the destination before NAT, on an accepted socket
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def _udp_socket(sandbox, port: int) -> socket.socket:
    """The grader's UDP socket on ``port``, told to report each datagram's destination address."""
    sock = sandbox.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.bind((sandbox.peer_host, port))
    return sock


def _udp_destination(sandbox, sock: socket.socket, port: int, timeout: float) -> tuple[str, int] | None:
    """The first datagram to ``sock``: where its sender addressed it.

    IP_PKTINFO gives the destination address the datagram arrived with; when
    the sandbox rewrote it (catch-all, port redirect), conntrack has the one
    the program used.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            sandbox.evidence.add("timeout", who="peer", waited_s=timeout,
                                 text=Msg(N_("no datagram from {sender} within {seconds} s"),
                                          {"sender": Msg(N_("the client")), "seconds": f"{timeout:g}"}))
            return None
        try:
            data, anc, _, src = sock.recvmsg(65536, socket.CMSG_SPACE(12))
        except (BlockingIOError, InterruptedError, ConnectionRefusedError):
            continue
        arrived = "127.0.0.1"
        for level, kind, value in anc:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                arrived = socket.inet_ntoa(value[8:12])  # struct in_pktinfo: ifindex, spec_dst, addr
        sandbox.evidence.packet("received", "udp", fmt_addr(src), f"{arrived}:{port}", data)
        return original_destination(sandbox, "udp", src) or (arrived, port)


def _tcp_destination(listener: TcpListener, timeout: float) -> tuple[str, int] | None:
    """The first connection to ``listener``: where the client addressed it (before any NAT)."""
    conn = listener.accept(timeout)
    if conn is None:
        return None
    try:
        raw = conn.sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        dport, daddr = struct.unpack_from("!H4s", raw, 2)
        dest = (socket.inet_ntoa(daddr), dport)
    except OSError:  # no connection tracking in this sandbox: nothing was rewritten
        dest = conn.sock.getsockname()[:2]
    conn.close()
    return dest


@per_program("client", "client", "extra", lambda p: N_("sends to 127.0.0.1 (or the address given)"), id="address",
             hint=lambda p: N_("Use ('127.0.0.1', port), or the lab address your class was told; a LAN address of "
                               "your own machine reaches nobody elsewhere."))
def test_client_address(client, sandbox, program, limits):
    proto = program.spec.transport
    # the grader's socket exists before the client starts, so nothing it sends is lost
    if proto == "udp":
        sock = _udp_socket(sandbox, program.port)
        run = program.start(stdin=client_lines(program))
        dest = _udp_destination(sandbox, sock, program.port, limits.step_s)
    else:
        listener = TcpListener(sandbox, program.port)
        run = program.start(stdin=client_lines(program))
        dest = _tcp_destination(listener, limits.step_s)
    if dest is None:
        fail(no_contact(program, run, limits))
    sandbox.evidence.note(Msg(N_("the client addressed {address}"), {"address": f"{dest[0]}:{dest[1]}"}))
    if not sheet_address(dest[0], program.pack, program.given_addresses):
        sheet = sheet_addresses_text(program.pack, program.given_addresses)
        if proto == "udp":
            fail(N_("sent to {host}:{port}; the sheet says {sheet} (graded there only because the sandbox delivers"
                    " any address to the grader)"), host=dest[0], port=dest[1], sheet=sheet)
        fail(N_("connected to {host}:{port}; the sheet says {sheet} (graded there only because the sandbox delivers"
                " any address to the grader)"), host=dest[0], port=dest[1], sheet=sheet)


@per_program("server", "server", "extra", lambda p: N_("binds all interfaces, 127.0.0.1 or the host name's address"),
             id="address", hint=lambda p: N_("bind(('', port)): all interfaces, so clients reach it on 127.0.0.1 "
                                             "and on every address of the machine."))
def test_server_address(server, sandbox, program):
    run = program.start_server()  # fails, saying why, when it listens nowhere
    lst = run.listener
    if not sheet_address(lst.address, program.pack):
        fail(N_("bound to {lst}; the sheet says '' (all interfaces), 127.0.0.1 or the address socket.gethostname() "
                "resolves to: a client that uses 127.0.0.1 cannot reach it (graded there only because the sandbox "
                "gives it that address)"),
             lst=lst)
