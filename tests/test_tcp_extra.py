"""Direct tests of the TCP peer and of diagnostics the mutants do not cover."""
from __future__ import annotations

import errno
import tempfile

import pytest

from conftest import ROOT, grade, submission_with
from netgrade.evidence import Evidence
from netgrade.pack import Limits
from netgrade.peers.tcp import PeerError, TcpListener, TcpPeer, tcp_states
from netgrade.runner import LocalRunner, make_workbase

LIMITS = Limits(ready_s=3, step_s=3, check_s=40, cpu_s=20, memory_mb=1024, file_mb=64, processes=64,
                output_kib=64)


@pytest.fixture
def box():
    runner = LocalRunner(make_workbase(tempfile.mkdtemp()), LIMITS)
    sandbox = runner.open_sandbox(Evidence())
    yield sandbox
    sandbox.close()


def _pair(box):
    listener = TcpListener(box, 0, label="server side")
    client = TcpPeer.connect(box, listener.addr, 2.0, label="client side")
    server = listener.accept(2.0)
    assert server is not None
    return client, server


def test_fin_and_first_closer(box):
    client, server = _pair(box)
    client.send(b"abc")
    client.send(b"defg")
    assert server.recv_exactly(2, 2.0) == b"ab"
    assert server.recv_until("fg", 2.0) == b"cdefg"
    client.close()
    assert server.wait_close(2.0) == "fin"
    assert server.first_closer == "program"  # from the server side's view, the other end closed first
    kinds = [e["kind"] for e in box.evidence.events]
    assert "connect" in kinds and "accept" in kinds and "fin" in kinds and kinds.count("sent") == 2


def test_rst_is_told_apart(box):
    client, server = _pair(box)
    server.abort()
    assert client.wait_close(2.0) == "rst"
    assert client.first_closer == "program"


def test_half_close_keeps_reading(box):
    client, server = _pair(box)
    client.shutdown_write()
    assert server.wait_close(2.0) == "fin"
    server.send(b"after your FIN")
    assert client.recv_until(b"FIN", 2.0) == b"after your FIN"
    assert client.first_closer == "peer"


def test_timeout_and_refused(box):
    client, server = _pair(box)
    assert server.recv(0.05) is None
    assert server.wait_close(0.05) is None
    with pytest.raises(PeerError, match="refused"):
        TcpPeer.connect(box, ("127.0.0.1", 1), 1.0)


class _ResetOnConnect:
    """A sandbox whose sockets are reset while they connect (a listener dying mid-handshake, as seen
    under the Docker runner when a server crashes while the next client connects)."""

    def __init__(self, box):
        self.box, self.evidence = box, box.evidence

    def socket(self, *args):
        real = self.box.socket(*args)

        class Sock:
            def settimeout(self, t):
                real.settimeout(t)

            def connect(self, addr):
                raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")

            def close(self):
                real.close()
        return Sock()


def test_a_reset_while_connecting_is_the_programs_side_not_a_grader_error(box):
    with pytest.raises(PeerError, match="was reset") as err:
        TcpPeer.connect(_ResetOnConnect(box), ("127.0.0.1", 9), 1.0)
    assert err.value.errno == errno.ECONNRESET
    assert any(e["kind"] == "connect" and "reset" in e["text"] for e in box.evidence.events)


def test_time_wait_is_seen_on_the_closing_side(box):
    listener = TcpListener(box, 0)
    client = TcpPeer.connect(box, listener.addr, 2.0)
    server = listener.accept(2.0)
    server.close()
    assert client.wait_close(2.0) == "fin"
    client.close()
    states = tcp_states(box, listener.port)
    assert any(s[2] == "TIME_WAIT" for s in states), states


def test_wrong_port_is_named(tmp_path):
    src = (ROOT / "reference" / "tcp_thanks_server.py").read_text("utf-8")
    src = src.replace("default=8088", "default=7788")
    sub = submission_with(tmp_path, {"tcp_thanks_server.py": src})
    result, _ = grade(sub, "--program", "tcp-thanks-server", tmp=tmp_path)
    checks = {c["id"]: c for p in result["programs"] for c in p["checks"]}
    msg = checks["port"]["message"]
    assert checks["port"]["status"] == "fail"
    assert "TCP 0.0.0.0:7788" in msg and "8088" in msg, msg
    # graded where it listens: one wrong constant costs one check
    assert checks["reply"]["status"] == "pass", checks["reply"]["message"]
