"""The grader's TFTP faults as a filter on the transfer machine's Send actions (peers/tftp.py, FaultFilter).

A fake peer records what would go on the wire and into the evidence; the machines are the real ones.  Last, a
property: whatever the faults, a peer Sender (no retransmissions, its DATA filtered, a withheld block released
when the client ACKs the block before it again) and a correct client Receiver move the exact file.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netgrade.peers.tftp import FaultFilter, Faults
from netgrade.protocols import tftp
from netgrade.protocols.tftp_transfer import DONE, Deliver, Receiver, Send, Sender

CLIENT = ("127.0.0.1", 40000)
TID = ("127.0.0.1", 50000)


class Evidence:
    def __init__(self):
        self.events = []

    def add(self, kind, **fields):
        self.events.append((kind, fields))

    def note(self, text):
        self.events.append(("note", {"text": text}))


class Sandbox:
    def __init__(self):
        self.evidence = Evidence()


class FakePeer:
    """What FaultFilter uses of a TftpPeer: send (with a note), a stranger, the sandbox's evidence."""

    def __init__(self, label="peer"):
        self.label = label
        self.sandbox = Sandbox()
        self.wire = []  # (who, packet, to, note)
        self._stranger = None

    def send(self, data, to, note=""):
        self.wire.append((self.label, data, to, note))

    def stranger(self):
        if self._stranger is None:
            self._stranger = FakePeer("stranger")
            self._stranger.wire = self.wire  # one wire, in order
            self._stranger.sandbox = self.sandbox
        return self._stranger


def sent(peer):
    return [(who, tftp.describe(p), note) for who, p, _, note in peer.wire]


def test_a_withheld_data_is_held_until_released_and_logged():
    peer = FakePeer()
    f = FaultFilter(peer, Faults(drop={1}))
    s = Sender(CLIENT, b"x" * 600, retries=0)
    first = s.start()[0]
    assert f.send(first, fresh=True) is False and f.held == first and peer.wire == []
    assert [k for k, _ in peer.sandbox.evidence.events] == ["dropped"]
    f.release("after the repeated ACK")
    assert f.held is None and sent(peer) == [("peer", "DATA #1 (512 B)", "after the repeated ACK")]


def test_an_ack_is_withheld_the_first_n_times_the_machine_sends_it_then_goes_out_again():
    """Fetching: drop_times covers the machine's fresh ACK and its answers to the retransmitted block."""
    peer = FakePeer()
    f = FaultFilter(peer, Faults(drop={1}, drop_times={1: 2}))
    r = Receiver(TID, tftp.ack(0), retries=0)
    r.start()
    ack = r.packet_received(tftp.data(1, b"a" * 512), TID)[1]
    assert f.send(ack, fresh=True) is False
    again = r.packet_received(tftp.data(1, b"a" * 512), TID)  # the server's retransmission
    assert again == [Send(tftp.ack(1), TID)]
    assert f.send(again[0], fresh=False, note="again") is False and f.withheld(1) == 2
    assert f.send(again[0], fresh=False, note="again") is True
    assert sent(peer) == [("peer", "ACK #1", "again")]
    texts = [e["text"] for k, e in peer.sandbox.evidence.events if k == "dropped"]
    assert texts == ["withheld ACK #1 (a lost packet) (time 1 of 2)", "withheld ACK #1 (a lost packet) (time 2 of 2)"]


def test_duplicate_late_copy_and_stranger_come_with_the_first_send_only():
    peer = FakePeer()
    f = FaultFilter(peer, Faults(duplicate={2}, late={3: 1}, stranger={2: b"junk"}))
    s = Sender(CLIENT, b"y" * 1100, retries=0)
    f.send(s.start()[0], fresh=True)
    f.send(s.packet_received(tftp.ack(1), CLIENT)[0], fresh=True)
    f.send(s.packet_received(tftp.ack(2), CLIENT)[0], fresh=True)
    assert sent(peer) == [
        ("peer", "DATA #1 (512 B)", ""),
        ("stranger", tftp.describe(b"junk"), "from a wrong port"),
        ("peer", "DATA #2 (512 B)", ""),
        ("peer", "DATA #2 (512 B)", "duplicate"),
        ("peer", "DATA #1 (512 B)", "DATA #1 again, late (a copy the network delayed)"),
        ("peer", "DATA #3 (76 B)", ""),
    ]
    assert f.late_acks == {1}


def test_the_peer_sends_no_error_and_other_packets_unchanged():
    peer = FakePeer()
    f = FaultFilter(peer, Faults(drop={1}))
    assert f.send(Send(tftp.error(5, "Unknown transfer ID"), CLIENT), fresh=True) is False
    assert f.held is None and peer.wire == []
    assert f.send(Send(tftp.rrq("f"), CLIENT), fresh=True) is True
    assert sent(peer) == [("peer", tftp.describe(tftp.rrq("f")), "")]


@settings(max_examples=120, deadline=None)
@given(content=st.binary(max_size=3000),
       drop=st.sets(st.integers(1, 7), max_size=3), duplicate=st.sets(st.integers(1, 7), max_size=3),
       late=st.dictionaries(st.integers(2, 7), st.integers(1, 6), max_size=2))
def test_whatever_the_faults_a_served_file_arrives_exactly(content, drop, duplicate, late):
    late = {k: j for k, j in late.items() if j < k}
    peer = FakePeer()
    f = FaultFilter(peer, Faults(drop=drop, duplicate=duplicate, late=late))
    server = Sender(CLIENT, content, retries=0)
    client = Receiver(TID, tftp.ack(0), retries=3)  # stands for the client after its RRQ
    client.start()
    got = []
    f.send(server.start()[0], fresh=True)
    for _ in range(200):
        if not peer.wire:  # the client hears nothing: its timer sends its last ACK again
            to_server = [a.packet for a in client.timeout() if isinstance(a, Send)]
        else:
            to_server = []
            wire, peer.wire[:] = list(peer.wire), []
            for _, packet, _, _ in wire:
                for a in client.packet_received(packet, TID):
                    if isinstance(a, Deliver):
                        got.append(a.data)
                    elif isinstance(a, Send):
                        to_server.append(a.packet)
        for packet in to_server:
            before = server.blocks
            actions = server.packet_received(packet, CLIENT)
            if server.blocks > before and server.state != DONE:
                f.send(actions[0], fresh=True)
            elif f.held is not None and packet == tftp.ack(server.awaited - 1):
                f.release("after the repeated ACK")  # what serve() does
        if server.state == DONE and client.state == DONE:
            break
    assert client.state == DONE and server.state == DONE
    assert b"".join(got) == content and len(got) == len(tftp.blocks(content))
