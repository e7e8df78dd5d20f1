"""The TFTP packet codec (harness/protocols/tftp.py): RFC 1350 layouts, options, errors.

Also the saved-file finder the tftp-client checks use (harness/savedfiles.py):
what a client left is found whatever its name, and never read through a link.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netgrade.protocols import tftp
from netgrade.protocols.tftp import Ack, Data, Error, OAck, Request, TftpDecodeError


def test_rrq_bytes_are_the_rfc_layout():
    assert tftp.rrq("a.txt") == b"\x00\x01a.txt\x00octet\x00"
    assert tftp.wrq("b", "netascii") == b"\x00\x02b\x00netascii\x00"


def test_rrq_with_options_round_trips():
    raw = tftp.rrq("f", "octet", {"blksize": "1024", "tsize": "0"})
    assert raw == b"\x00\x01f\x00octet\x00blksize\x001024\x00tsize\x000\x00"
    assert tftp.decode(raw) == Request(tftp.RRQ, "f", "octet", {"blksize": "1024", "tsize": "0"})


def test_mode_kept_as_sent_option_names_lowercased():
    pkt = tftp.decode(b"\x00\x01f\x00OCTET\x00BlkSize\x00512\x00")
    assert pkt.mode == "OCTET" and pkt.mode.lower() == "octet"
    assert pkt.options == {"blksize": "512"}


def test_data_ack_error_oack():
    assert tftp.data(3, b"xyz") == b"\x00\x03\x00\x03xyz"
    assert tftp.decode(b"\x00\x03\x00\x03xyz") == Data(3, b"xyz")
    assert tftp.decode(b"\x00\x03\xff\xff") == Data(65535, b"")
    assert tftp.ack(2) == b"\x00\x04\x00\x02"
    assert tftp.decode(b"\x00\x04\x01\x00") == Ack(256)
    assert tftp.error(1) == b"\x00\x05\x00\x01File not found\x00"
    assert tftp.decode(tftp.error(2, "no 你好")) == Error(2, "no 你好")
    assert tftp.oack({"tsize": "3000"}) == b"\x00\x06tsize\x003000\x00"
    assert tftp.decode(b"\x00\x06tsize\x003000\x00") == OAck({"tsize": "3000"})


def test_non_utf8_filename_round_trips():
    raw = b"\x00\x01\xff\xfe.bin\x00octet\x00"
    pkt = tftp.decode(raw)
    assert tftp.encode(pkt) == raw


@pytest.mark.parametrize("raw, words", [
    (b"", "too short for an opcode"),
    (b"\x00", "too short for an opcode"),
    (b"\x00\x01", "nothing after the opcode"),
    (b"\x00\x01abc", "RRQ without NUL after the filename"),
    (b"\x00\x01abc\x00", "RRQ without a mode"),
    (b"\x00\x01abc\x00octet", "RRQ without NUL after the mode"),
    (b"\x00\x02\x00octet\x00", "WRQ with an empty filename"),
    (b"\x00\x01abc\x00\x00", "RRQ with an empty mode"),
    (b"\x00\x01abc\x00octet\x00blksize\x00", "no value for it"),
    (b"\x00\x01abc\x00octet\x00blksize", "without NUL after the option name"),
    (b"\x00\x01abc\x00octet\x00blksize\x00512", "without NUL after the option value"),
    (b"\x00\x01a\x00octet\x00x\x001\x00X\x002\x00", "option 'x' twice"),
    (b"\x00\x03\x00", "too short for a block number"),
    (b"\x00\x04\x00", "exactly 4 bytes"),
    (b"\x00\x04\x00\x01\x00", "exactly 4 bytes"),
    (b"\x00\x05\x00", "too short for an error code"),
    (b"\x00\x05\x00\x01oops", "ERROR without NUL after the message"),
    (b"\x00\x06", "OACK without any option"),
    (b"\x00\x09abc\x00", "unknown opcode 9"),
    (b"\x01\x00", "unknown opcode 256"),
])
def test_malformed_raise_one_descriptive_error(raw, words):
    with pytest.raises(TftpDecodeError) as exc:
        tftp.decode(raw)
    assert words in str(exc.value)
    assert words in tftp.describe(raw)
    assert tftp.try_decode(raw)[0] is None


def test_describe():
    assert tftp.describe(tftp.data(3, b"x" * 512)) == "DATA #3 (512 B)"
    assert tftp.describe(tftp.ack(2)) == "ACK #2"
    assert tftp.describe(tftp.error(1)) == "ERROR 1 'File not found'"
    assert tftp.describe(tftp.rrq("f.txt")) == "RRQ 'f.txt' octet"
    assert tftp.describe(tftp.rrq("f", options={"blksize": "1024"})) == "RRQ 'f' octet blksize=1024"
    assert tftp.describe(Ack(7)) == "ACK #7"
    assert tftp.describe(tftp.oack({"tsize": "5"})) == "OACK tsize=5"


def test_encode_refuses_what_does_not_fit():
    with pytest.raises(ValueError):
        tftp.ack(65536)
    with pytest.raises(ValueError):
        tftp.rrq("a\0b")
    with pytest.raises(ValueError):
        tftp.encode(Request(3, "x"))
    with pytest.raises(TypeError):
        tftp.encode("not a packet")  # type: ignore[arg-type]


@pytest.mark.parametrize("size, sizes", [
    (0, [0]), (1, [1]), (511, [511]), (512, [512, 0]), (513, [512, 1]), (1024, [512, 512, 0]),
])
def test_blocks_end_with_a_short_or_empty_block(size, sizes):
    assert [len(b) for b in tftp.blocks(b"x" * size)] == sizes


def test_block_numbers_wrap():
    assert tftp.block_number(65535) == 65535
    assert tftp.block_number(65536) == 0
    assert tftp.block_number(65537) == 1


def test_netascii():
    assert tftp.to_netascii(b"a\nb\rc") == b"a\r\nb\r\0c"
    dec = tftp.NetasciiDecoder()
    # a CR at the end of one block and its LF at the start of the next
    assert dec.feed(b"a\r") + dec.feed(b"\nb\r") + dec.feed(b"\0") + dec.flush() == b"a\nb\r"


@given(st.binary(max_size=300))
def test_netascii_round_trip(raw):
    assert tftp.from_netascii(tftp.to_netascii(raw)) == raw


@given(st.binary(max_size=80))
def test_decode_never_raises_anything_else(raw):
    try:
        pkt = tftp.decode(raw)
    except TftpDecodeError:
        return
    assert isinstance(pkt, (Request, Data, Ack, Error, OAck))
    tftp.describe(raw)


@given(st.text(min_size=1, max_size=40).filter(lambda s: "\0" not in s),
       st.dictionaries(st.text("abcdefgh", min_size=1, max_size=8), st.text(max_size=8).filter(lambda s: "\0" not in s),
                       max_size=3))
def test_request_round_trip(name, opts):
    raw = tftp.rrq(name, "octet", opts)
    pkt = tftp.decode(raw)
    assert pkt.filename == name and pkt.options == opts


@pytest.mark.parametrize("raw, want, words", [
    (b"\x00\x02a.txt\x00octet\x00", tftp.RRQ, "opcode 2 (WRQ, a write request: an upload) where opcode 1 (RRQ"),
    (b"\x00\x03\x00\x01", tftp.ACK, "opcode 3 (DATA, a block of the file) where opcode 4 (ACK"),
    (b"\x00\x04\x00\x01" + b"x" * 512, tftp.DATA, "opcode 4 (ACK, an acknowledgement) where opcode 3 (DATA"),
    (b"\x00\x09\x00\x01", tftp.ACK, "opcode 9, which TFTP does not have, where opcode 4"),
    (b"\x04", tftp.ACK, "a 1-byte datagram, too short for an opcode"),
])
def test_opcode_fault_names_what_was_seen_and_what_belongs(raw, want, words):
    assert words in tftp.opcode_fault(raw, want)


def test_opcode_fault_is_empty_for_the_right_opcode():
    assert tftp.opcode_fault(tftp.rrq("a"), tftp.RRQ) == ""
    assert tftp.opcode_fault(tftp.ack(7), tftp.ACK) == ""
    assert tftp.opcode_of(b"\x00") is None and tftp.opcode_of(tftp.data(1, b"")) == tftp.DATA


# ------------------------------------------------------------ the saved-file finder

def test_finder_takes_what_changed_whatever_its_name(tmp_path):
    from netgrade.savedfiles import Baseline
    (tmp_path / "tftp_client.py").write_text("print()")
    (tmp_path / "old.txt").write_bytes(b"old")
    base = Baseline(tmp_path, expected={"tftp_client.py", "old.txt"})
    (tmp_path / "test.txt").write_bytes(b"downloaded")
    found = base.find(prefer=["client_x.txt"], want=b"downloaded")
    assert (found.name, found.data, found.others) == ("test.txt", b"downloaded", [])


def test_finder_counts_a_file_made_before_the_baseline_as_new(tmp_path):
    from netgrade.savedfiles import Baseline
    (tmp_path / "client_a").write_bytes(b"")  # created in the program's first instant
    base = Baseline(tmp_path, expected={"tftp_client.py"})
    assert set(base.changed()) == {"client_a"}


def test_finder_sees_a_rewritten_file_and_prefers_the_sheet_name(tmp_path):
    from netgrade.savedfiles import Baseline
    (tmp_path / "client_a").write_bytes(b"stale stale")
    base = Baseline(tmp_path, expected={"client_a"})
    assert base.changed() == {}
    (tmp_path / "client_a").write_bytes(b"new")
    (tmp_path / "download.log").write_bytes(b"a longer line of a log file\n")
    found = base.find(prefer=["client_a"], want=b"other bytes")
    assert (found.name, found.data, found.others) == ("client_a", b"new", ["download.log"])
    assert base.find(want=b"other bytes").name == "download.log"  # no preference: the largest


def test_finder_looks_into_new_folders(tmp_path):
    from netgrade.savedfiles import Baseline
    base = Baseline(tmp_path)
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "a.bin").write_bytes(b"xyz")
    assert base.find(want=b"xyz").name == "downloads/a.bin"


def test_finder_never_follows_a_link(tmp_path):
    from netgrade.savedfiles import Baseline, read_capped
    secret = tmp_path / "secret"
    secret.write_bytes(b"root:x:0:0")
    work = tmp_path / "work"
    work.mkdir()
    base = Baseline(work)
    (work / "client_a").symlink_to(secret)
    (work / "sub").symlink_to(tmp_path)
    found = base.find(prefer=["client_a"], want=b"")
    assert found.data is None and "symbolic link to" in found.why and "not followed" in found.describe()
    assert read_capped(work, "sub/secret", 100)[0] is None  # a linked folder is refused too
    os.link(secret, work / "hard")
    data, _, why = read_capped(work, "hard", 100)
    assert data is None and "hard link" in why


def test_finder_reads_no_more_than_the_limit_and_no_fifo(tmp_path):
    from netgrade.savedfiles import Baseline, read_capped
    base = Baseline(tmp_path)
    (tmp_path / "big").write_bytes(b"x" * 10_000)
    found = base.find(want=b"x" * 10, margin=90)
    assert (len(found.data), found.size, found.truncated) == (100, 10_000, True)
    os.mkfifo(tmp_path / "fifo")  # opening it must not wait for a writer
    data, _, why = read_capped(tmp_path, "fifo", 100)
    assert data is None and "not a regular file" in why
