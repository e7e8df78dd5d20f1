"""Every program uses the sheet's port (one check per program).

Sheet: each program's heading names its port.  Real submissions often use a
port of their own; the other checks then grade the server where it listens
(found in the sandbox's socket table), so one wrong constant costs this one
check, not the program.  Its level is must; an instructor may lower it per
program in the pack: ``[checks."tcp-thanks-server/port"] level = "should"``.

Clients likewise: a client that sends to a port of its own is redirected to
the grader's peer on the sheet's port (inside its sandbox), so its other
checks grade what it does; this check reports the port it used.
"""
from __future__ import annotations

import pytest

from harness.checks import check_mark, fail
from harness.pack import load
from harness.peers.tcp import TcpListener
from harness.peers.udp import UdpPeer

SERVERS = [p for p in load().programs.values() if p.role == "server"]
CLIENTS = [p for p in load().programs.values() if p.role == "client"]


@pytest.mark.parametrize("server", [
    pytest.param(p.id, id=p.id, marks=check_mark(
        p.id, "must", f"listens on {p.transport.upper()} port {p.port}", "port", sheet=p.sheet,
        hint=f"bind(('', {p.port})): the port the sheet gives, which clients use."))
    for p in SERVERS])
def test_server_port(server, sandbox, program):
    run = program.start_server()  # fails, saying why, when it listens nowhere
    if run.listener.port != program.port:
        fail(f"listening on {run.listener}; the sheet says {program.spec.transport.upper()} port {program.port}")


@pytest.mark.parametrize("client", [
    pytest.param(p.id, id=p.id, marks=check_mark(
        p.id, "must", f"sends to {p.transport.upper()} port {p.port}", "port", sheet=p.sheet,
        hint=f"Send to ('127.0.0.1', {p.port}): the port the sheet gives, where the server listens."))
    for p in CLIENTS])
def test_client_port(client, sandbox, program, limits):
    proto = program.spec.transport
    udp = UdpPeer(sandbox, program.port) if proto == "udp" else None
    tcp = TcpListener(sandbox, program.port) if proto == "tcp" else None
    run = program.start(stdin=["hello", "hello", "hello"])
    if udp is not None:
        contact = udp.recv(limits.step_s, expect_from=program.id) is not None
    else:
        conn = tcp.accept(limits.step_s)
        contact = conn is not None
        if conn is not None:
            conn.close()
    used = sandbox.redirected_ports(run)
    if used:
        fail(f"sent to {proto.upper()} port {', '.join(map(str, used))}; the sheet says port {program.port}")
    if not contact:
        ended = "" if run.running else f"; it {run.crash_summary()}"
        fail(f"expected the client to reach {proto.upper()} port {program.port} within {limits.step_s:g} s after "
             f"a line of input; it did not{ended}")
