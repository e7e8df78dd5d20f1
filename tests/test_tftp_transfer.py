"""The sans-IO TFTP transfer (harness/protocols/tftp_transfer.py): rules one by one, then a Sender and a
Receiver paired over an in-memory channel that loses, duplicates and reorders datagrams (hypothesis)."""
from __future__ import annotations

import heapq
import itertools
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from netgrade.protocols import tftp
from netgrade.protocols.tftp_transfer import (DONE, FAILED, MALFORMED, PEER_ERROR, TIMEOUT, UNEXPECTED, Deliver,
                                              Done, Fail, Receiver, Send, Sender, SetTimer)

CLIENT = ("10.0.0.1", 3000)
SERVER = ("10.0.0.2", 69)
TID = ("10.0.0.2", 5000)
STRANGER = ("10.0.0.2", 5999)


def sends(actions):
    return [(tftp.decode(a.packet), a.addr) for a in actions if isinstance(a, Send)]


# ------------------------------------------------------------------ Sender rules

def test_sender_lock_step_and_done_on_the_short_block():
    s = Sender(CLIENT, b"x" * 600, timeout=2)
    assert s.start() == [Send(tftp.data(1, b"x" * 512), CLIENT), SetTimer(2)]
    assert s.packet_received(tftp.ack(1), CLIENT) == [Send(tftp.data(2, b"x" * 88), CLIENT), SetTimer(2)]
    assert s.packet_received(tftp.ack(2), CLIENT) == [Done(2, 600)]
    assert s.state == DONE
    assert s.packet_received(tftp.ack(2), CLIENT) == [] and s.timeout() == []


def test_sender_sends_an_empty_last_block_for_a_multiple_of_the_block_size():
    s = Sender(CLIENT, b"y" * 512)
    s.start()
    assert sends(s.packet_received(tftp.ack(1), CLIENT)) == [(tftp.Data(2, b""), CLIENT)]


def test_sender_ignores_duplicate_and_old_acks():
    s = Sender(CLIENT, b"z" * 2000)
    s.start()
    s.packet_received(tftp.ack(1), CLIENT)
    assert s.packet_received(tftp.ack(1), CLIENT) == []  # no Sorcerer's Apprentice
    assert s.packet_received(tftp.ack(0), CLIENT) == []
    assert s.awaited == 2


def test_sender_retransmits_on_timeout_then_fails():
    s = Sender(CLIENT, b"abc", timeout=1, retries=2)
    first = s.start()
    assert s.timeout() == first
    assert s.timeout() == first
    assert s.timeout() == [Fail("no answer after 3 tries", TIMEOUT)]
    assert s.state == FAILED and s.packet_received(tftp.ack(1), CLIENT) == []


def test_an_awaited_ack_resets_the_tries():
    s = Sender(CLIENT, b"q" * 1500, retries=1)
    s.start()
    s.timeout()
    s.packet_received(tftp.ack(1), CLIENT)
    assert sends(s.timeout()) == [(tftp.Data(2, b"q" * 512), CLIENT)]


def test_sender_answers_another_transfer_id_with_error_5_and_changes_nothing():
    s = Sender(CLIENT, b"abc")
    s.start()
    assert sends(s.packet_received(tftp.ack(1), STRANGER)) == [(tftp.Error(5, "Unknown transfer ID"), STRANGER)]
    assert s.awaited == 1 and s.state != DONE


def test_sender_stops_on_the_peers_error_without_answering_it():
    s = Sender(CLIENT, b"abc")
    s.start()
    [fail] = s.packet_received(tftp.error(3, "Disk full"), CLIENT)
    assert isinstance(fail, Fail) and fail.cause == PEER_ERROR and fail.error == tftp.Error(3, "Disk full")


def test_malformed_packet_gets_error_4_and_ends_the_transfer():
    s = Sender(CLIENT, b"abc")
    s.start()
    actions = s.packet_received(b"\x00\x04\x00", CLIENT)
    (err, to), = sends(actions)
    assert err.code == 4 and to == CLIENT and "malformed" in err.message
    assert isinstance(actions[-1], Fail) and actions[-1].cause == MALFORMED


def test_sender_with_options_sends_oack_then_waits_for_ack_0():
    s = Sender(CLIENT, b"a" * 20, blksize=8, oack={"blksize": "8"})
    assert sends(s.start()) == [(tftp.OAck({"blksize": "8"}), CLIENT)]
    assert s.packet_received(tftp.ack(1), CLIENT) == []
    assert sends(s.packet_received(tftp.ack(0), CLIENT)) == [(tftp.Data(1, b"a" * 8), CLIENT)]


def test_sender_reads_an_iterator_one_chunk_ahead_only():
    read = []

    def chunks():
        for i in range(5):
            read.append(i)
            yield bytes([i]) * 8

    s = Sender(CLIENT, chunks(), blksize=8)
    s.start()
    assert read == [0]
    s.packet_received(tftp.ack(1), CLIENT)
    assert read == [0, 1]


def test_block_numbers_wrap_past_65535():
    content = bytes(range(256)) * (8 * 65540 // 256)
    s = Sender(CLIENT, content, blksize=8)
    r = Receiver(TID, tftp.ack(0), blksize=8)
    got = []
    pending = [a for a in s.start() if isinstance(a, Send)]
    wire_blocks = set()
    while pending:
        nxt = []
        for a in pending:
            if a.addr == CLIENT:
                wire_blocks.add(tftp.decode(a.packet).block)
                out = r.packet_received(a.packet, TID)
            else:
                out = s.packet_received(a.packet, CLIENT)
            got += [x.data for x in out if isinstance(x, Deliver)]
            nxt += [x for x in out if isinstance(x, Send)]
        pending = nxt
    assert s.state == DONE and r.state == DONE and b"".join(got) == content
    assert 0 in wire_blocks and max(wire_blocks) == 65535


# ------------------------------------------------------------------ Receiver rules

def test_receiver_learns_the_transfer_id_from_the_first_reply():
    r = Receiver(SERVER, tftp.rrq("f"), learn_peer=True, timeout=3)
    assert r.start() == [Send(tftp.rrq("f"), SERVER), SetTimer(3)]
    actions = r.packet_received(tftp.data(1, b"hi"), TID)
    assert actions[0] == Deliver(b"hi") and Send(tftp.ack(1), TID) in actions and actions[-1] == Done(1, 2)
    assert r.peer == TID


def test_receiver_answers_another_port_with_error_5():
    r = Receiver(SERVER, tftp.rrq("f"), learn_peer=True)
    r.start()
    r.packet_received(tftp.data(1, b"a" * 512), TID)
    assert sends(r.packet_received(tftp.data(2, b""), STRANGER)) == [(tftp.Error(5, "Unknown transfer ID"), STRANGER)]
    assert r.awaited == 2


def test_receiver_does_not_learn_a_peer_on_another_host():
    r = Receiver(SERVER, tftp.rrq("f"), learn_peer=True)
    r.start()
    other = ("10.9.9.9", 5000)
    assert sends(r.packet_received(tftp.data(1, b"x"), other)) == [(tftp.Error(5, "Unknown transfer ID"), other)]
    assert r.peer is None


def test_receiver_re_acks_a_duplicate_and_delivers_it_once():
    r = Receiver(TID, tftp.ack(0))
    r.start()
    first = r.packet_received(tftp.data(1, b"a" * 512), TID)
    assert [a for a in first if isinstance(a, Deliver)] == [Deliver(b"a" * 512)]
    assert r.packet_received(tftp.data(1, b"a" * 512), TID) == [Send(tftp.ack(1), TID)]
    assert r.packet_received(tftp.data(7, b"?"), TID) == []  # a block from the future: nothing


def test_receiver_delivers_before_it_acks():
    r = Receiver(TID, tftp.ack(0))
    r.start()
    actions = r.packet_received(tftp.data(1, b"a" * 512), TID)
    assert actions == [Deliver(b"a" * 512), Send(tftp.ack(1), TID), SetTimer(1.0)]


def test_receiver_retransmits_its_last_ack_on_timeout_then_fails():
    r = Receiver(TID, tftp.ack(0), retries=1)
    r.start()
    r.packet_received(tftp.data(1, b"b" * 512), TID)
    assert sends(r.timeout()) == [(tftp.Ack(1), TID)]
    assert r.timeout() == [Fail("no answer after 2 tries", TIMEOUT)]


def test_receiver_after_done_answers_the_repeated_last_block_only():
    r = Receiver(TID, tftp.ack(0))
    r.start()
    r.packet_received(tftp.data(1, b"end"), TID)
    assert r.state == DONE
    assert r.packet_received(tftp.data(1, b"end"), TID) == [Send(tftp.ack(1), TID)]
    assert r.packet_received(tftp.data(2, b""), TID) == [] and r.timeout() == []


def test_receiver_fails_on_a_packet_that_is_not_data():
    r = Receiver(TID, tftp.ack(0))
    r.start()
    actions = r.packet_received(tftp.ack(1), TID)
    assert sends(actions) == [(tftp.Error(4, "expected DATA"), TID)]
    assert actions[-1].cause == UNEXPECTED and r.state == FAILED


def test_receiver_stops_on_error_and_keeps_it():
    r = Receiver(SERVER, tftp.rrq("nope"), learn_peer=True)
    r.start()
    [fail] = r.packet_received(tftp.error(1, "File not found"), TID)
    assert fail.cause == PEER_ERROR and fail.error.message == "File not found"


def test_a_receiver_that_asked_for_options_takes_the_oack_and_its_block_size():
    r = Receiver(SERVER, tftp.rrq("f", options={"blksize": "8"}), learn_peer=True, options={"blksize": "8"})
    r.start()
    assert r.packet_received(tftp.oack({"blksize": "8"}), TID) == [Send(tftp.ack(0), TID), SetTimer(1.0)]
    assert r.oack == tftp.OAck({"blksize": "8"}) and r.blksize == 8 and r.peer == TID
    assert r.packet_received(tftp.oack({"blksize": "8"}), TID) == [Send(tftp.ack(0), TID)]  # ACK 0 was lost
    assert sends(r.packet_received(tftp.data(1, b"12345678"), TID)) == [(tftp.Ack(1), TID)]
    assert r.packet_received(tftp.oack({"blksize": "8"}), TID) == []  # a copy that came late
    assert r.packet_received(tftp.data(2, b"9"), TID)[-1] == Done(2, 9)


def test_an_oack_unasked_or_after_data_is_not_data():
    r = Receiver(SERVER, tftp.rrq("f"), learn_peer=True)
    r.start()
    actions = r.packet_received(tftp.oack({"blksize": "8"}), TID)
    assert sends(actions) == [(tftp.Error(4, "expected DATA"), TID)] and actions[-1].cause == UNEXPECTED
    r = Receiver(SERVER, tftp.rrq("f", options={"blksize": "8"}), learn_peer=True, options={"blksize": "8"})
    r.start()
    r.packet_received(tftp.data(1, b"x" * 512), TID)  # the server ignored the options: 512-byte blocks
    assert r.packet_received(tftp.oack({"blksize": "8"}), TID)[-1].cause == UNEXPECTED


def test_an_oack_with_a_block_size_out_of_range_gets_error_8():
    for value in ("7", "65465", "big", ""):
        r = Receiver(SERVER, tftp.rrq("f", options={"blksize": "8"}), learn_peer=True, options={"blksize": "8"})
        r.start()
        actions = r.packet_received(tftp.oack({"blksize": value}), TID)
        assert sends(actions) == [(tftp.Error(8, f"blksize {value!r}"), TID)], value
        assert actions[-1].cause == UNEXPECTED and r.state == FAILED and r.oack is None


def test_with_no_retries_the_first_timeout_is_the_end_and_nothing_is_sent_again():
    """Rule 4: the grader's peer watches the program's timers; its own wait running out ends the transfer."""
    for machine in (Sender(CLIENT, b"abc", retries=0), Receiver(TID, tftp.ack(0), retries=0)):
        machine.start()
        assert machine.timeout() == [Fail("no answer after 1 tries", TIMEOUT)]
        assert machine.state == FAILED


def test_a_datagram_the_caller_does_not_feed_changes_nothing():
    """Rule 11: a Send the caller withheld counts as sent; the machine moves only on what it is fed."""
    s = Sender(CLIENT, b"q" * 1000, retries=0)
    s.start()  # the caller withholds DATA #1
    assert s.awaited == 1 and s.blocks == 0
    assert s.packet_received(tftp.ack(0), CLIENT) == []  # the client's timer: its ACK 0 again, ignored
    assert sends(s.packet_received(tftp.ack(1), CLIENT)) == [(tftp.Data(2, b"q" * 488), CLIENT)]


# ------------------------------------------------------------------ both, over a bad channel

class Channel:
    """Datagrams in flight, each with a fate (lost, delivered, delivered twice) and a delay from the lists
    hypothesis drew; once the lists run out the channel is perfect.  Time is simulated."""

    def __init__(self, fates, delays):
        self.fates, self.delays = iter(fates), iter(delays)
        self.queue = []
        self.seq = itertools.count()

    def send(self, now, raw, src, dst):
        fate = next(self.fates, "ok")
        copies = {"drop": 0, "ok": 1, "dup": 2}[fate]
        for _ in range(copies):
            heapq.heappush(self.queue, (now + next(self.delays, 0.01), next(self.seq), raw, src, dst))


def run_pair(content, blksize, fates, delays, negotiate=False):
    """A client Receiver (RRQ to port 69) and a server that starts a Sender on a new port for every RRQ.

    ``negotiate``: the client asks for ``blksize`` in its RRQ (otherwise both use it from the start), the
    server answers with an OACK."""
    net = Channel(fates, delays)
    # more tries than the channel can spoil (a loss costs one, a 3-second delay up to three): it must get through
    retries = len(fates) + 3 * len(delays) + 1
    options = {"blksize": str(blksize)} if negotiate else None
    client = Receiver(SERVER, tftp.rrq("f", options=options), learn_peer=True, retries=retries, options=options,
                      blksize=tftp.BLOCK_SIZE if negotiate else blksize)
    machines = {CLIENT: client}
    timers = {}
    got = []
    ports = itertools.count(5000)
    now = 0.0

    def perform(addr, actions):
        for a in actions:
            if isinstance(a, Send):
                net.send(now, a.packet, addr, a.addr)
            elif isinstance(a, SetTimer):
                timers[addr] = now + a.seconds
            elif isinstance(a, (Done, Fail)):
                timers.pop(addr, None)
            elif isinstance(a, Deliver):
                assert addr == CLIENT
                got.append(a.data)

    perform(CLIENT, client.start())
    for _ in range(20000):
        t_net = net.queue[0][0] if net.queue else None
        addr_t = min(timers, key=timers.get) if timers else None
        if t_net is None and addr_t is None:
            break
        if t_net is not None and (addr_t is None or t_net <= timers[addr_t]):
            now, _, raw, src, dst = heapq.heappop(net.queue)
            if dst == SERVER:
                if tftp.opcode_of(raw) == tftp.RRQ:
                    port = (SERVER[0], next(ports))
                    machines[port] = Sender(src, content, blksize=blksize, retries=retries, oack=options)
                    perform(port, machines[port].start())
            elif dst in machines:
                perform(dst, machines[dst].packet_received(raw, src))
        else:
            now = timers.pop(addr_t)
            perform(addr_t, machines[addr_t].timeout())
    return client, machines, got


@settings(max_examples=150, deadline=None)
@given(content=st.binary(max_size=200), blksize=st.sampled_from([8, 16, 64]),
       fates=st.lists(st.sampled_from(["ok", "ok", "drop", "dup"]), max_size=40),
       delays=st.lists(st.sampled_from([0.0, 0.1, 0.4, 0.9, 1.6, 3.0]), max_size=40), negotiate=st.booleans())
def test_a_sender_and_a_receiver_always_move_the_exact_file(content, blksize, fates, delays, negotiate):
    client, machines, got = run_pair(content, blksize, fates, delays, negotiate)
    assert client.state == DONE, f"the receiver ended {client.state}"
    assert b"".join(got) == content
    assert len(got) == len(tftp.blocks(content, blksize))  # each block delivered once
    # the server side the client locked on to finished too; the others were told ERROR 5 or timed out
    assert machines[client.peer].state == DONE


def test_the_machine_runs_beside_the_codec_outside_netgrade(tmp_path):
    """Exported with a reference, the module imports the codec as ``tftp_codec`` (no netgrade package)."""
    from netgrade.protocols import tftp_transfer
    (tmp_path / "tftp_codec.py").write_text(open(tftp.__file__, encoding="utf-8").read(), "utf-8")
    (tmp_path / "tftp_transfer.py").write_text(open(tftp_transfer.__file__, encoding="utf-8").read(), "utf-8")
    code = ("import sys; sys.modules['netgrade'] = None\n"
            "import tftp_transfer as t\n"
            "s = t.Sender(('h', 1), b'abc'); print(s.start()[0].packet.hex())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == tftp.data(1, b"abc").hex()


def test_a_wrq_client_sender_sends_the_request_then_data_after_ack_0():
    s = Sender(SERVER, b"up", request=tftp.wrq("f"), learn_peer=True)
    assert sends(s.start()) == [(tftp.Request(tftp.WRQ, "f"), SERVER)]
    assert sends(s.packet_received(tftp.ack(0), TID)) == [(tftp.Data(1, b"up"), TID)]
    assert s.packet_received(tftp.ack(1), TID) == [Done(1, 2)]
