"""The sans-IO framing codec (netgrade.protocols.framing)."""
from __future__ import annotations

import struct

import pytest

from netgrade.protocols.framing import FrameDecoder, FrameTooLarge, describe_header, encode, encode_many


def test_encode_is_big_endian_length_then_payload():
    assert encode(b"hello") == b"\x00\x00\x00\x05hello"
    assert encode(b"") == b"\x00\x00\x00\x00"
    text = "你好".encode("utf-8")
    assert encode(text)[:4] == struct.pack("!I", 6)


def test_two_frames_in_one_feed():
    d = FrameDecoder()
    assert d.feed(encode(b"one") + encode(b"two")) == [b"one", b"two"]
    assert d.pending == b"" and not d.mid_frame


def test_byte_by_byte_gives_one_payload_at_the_end():
    d = FrameDecoder()
    wire = encode("黏包 test".encode())
    got = []
    for i in range(len(wire)):
        got += d.feed(wire[i:i + 1])
        if i < len(wire) - 1:
            assert got == []
            assert d.pending == wire[: i + 1]
    assert got == ["黏包 test".encode()]


def test_frame_plus_partial_next_header():
    d = FrameDecoder()
    wire = encode(b"first") + encode(b"second")
    cut = len(encode(b"first")) + 2
    assert d.feed(wire[:cut]) == [b"first"]
    assert d.pending == wire[len(encode(b"first")):cut] and d.mid_frame
    assert d.feed(wire[cut:]) == [b"second"]


def test_zero_length_payload_is_a_message():
    d = FrameDecoder()
    assert d.feed(encode(b"") + encode(b"x")) == [b"", b"x"]
    assert d.frames == 2


def test_large_payload_in_chunks():
    payload = bytes(range(256)) * 4096  # 1 MiB
    wire = encode(payload)
    d = FrameDecoder()
    got = []
    for i in range(0, len(wire), 65536):
        got += d.feed(wire[i:i + 65536])
    assert got == [payload]


def test_many_pipelined_in_order():
    payloads = [f"msg {i}".encode() for i in range(100)]
    assert FrameDecoder().feed(encode_many(payloads)) == payloads


def test_absurd_length_is_rejected():
    d = FrameDecoder(max_payload=1024)
    with pytest.raises(FrameTooLarge) as exc:
        d.feed(b"GET / HTTP/1.0\r\n")
    assert exc.value.length == struct.unpack("!I", b"GET ")[0]
    assert exc.value.header == b"GET "


def test_limit_itself_is_accepted():
    d = FrameDecoder(max_payload=4)
    assert d.feed(encode(b"abcd")) == [b"abcd"]


def test_describe_header_names_little_endian():
    msg = describe_header(struct.pack("<I", 5), expected_length=5)
    assert "LITTLE-endian" in msg and "05 00 00 00" in msg
    assert "LITTLE" not in describe_header(struct.pack("!I", 5), expected_length=5)
