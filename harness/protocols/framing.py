"""Length-prefixed framing (sheet: "Sticky packets"; notes 001 §4).

Every message on the wire is a 4-byte unsigned big-endian length followed by
that many bytes of payload.  This module is sans-IO: it turns payloads into
bytes and bytes back into payloads, and never touches a socket, so the
reference programs, the grader's peers and the unit tests share one codec.

TCP delivers a byte stream, not messages: one ``recv`` may hold several
frames, part of one, or a header split in two.  :class:`FrameDecoder`
therefore keeps whatever it has not yet been able to use and hands out a
payload only once all of its bytes are there.
"""
from __future__ import annotations

import struct

HEADER = struct.Struct("!I")  # network order (big-endian), unsigned 32 bits
HEADER_SIZE = HEADER.size
# A frame longer than this is taken for garbage (a text header, a little-endian
# length, a desynchronised stream) rather than a real message to buffer.
DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024


class FrameTooLarge(ValueError):
    """A header announced a payload longer than the decoder accepts."""

    def __init__(self, length: int, limit: int, header: bytes) -> None:
        super().__init__(f"frame header {header.hex(' ')} announces {length} bytes, more than the limit {limit}")
        self.length = length
        self.limit = limit
        self.header = header


def encode(payload: bytes) -> bytes:
    """One frame: the payload's length as 4 big-endian bytes, then the payload."""
    if len(payload) > 0xFFFFFFFF:
        raise ValueError("payload longer than a 4-byte length can announce")
    return HEADER.pack(len(payload)) + payload


def encode_many(payloads) -> bytes:
    return b"".join(encode(p) for p in payloads)


def header_of(length: int) -> bytes:
    return HEADER.pack(length)


def read_header(header: bytes) -> int:
    """The length a 4-byte header announces."""
    return HEADER.unpack(header)[0]


def describe_header(header: bytes, expected_length: int | None = None) -> str:
    """Explain a 4-byte header in words, naming the usual mistakes.

    ``expected_length`` is the length the header should carry (the payload's
    UTF-8 byte count); it lets us recognise a little-endian or native-order
    header, or a length counted in characters.
    """
    if len(header) < HEADER_SIZE:
        return f"an incomplete header ({header.hex(' ') or 'no bytes'})"
    big = struct.unpack("!I", header[:4])[0]
    little = struct.unpack("<I", header[:4])[0]
    text = f"header {header[:4].hex(' ')} (= {big} big-endian)"
    if expected_length is None:
        return text
    if big == expected_length:
        return text
    if little == expected_length and big != little:
        return (f"header {header[:4].hex(' ')}: that is {little} in LITTLE-endian (native x86) order; "
                f"the sheet wants '!I' (big-endian): {header_of(expected_length).hex(' ')}")
    return text


class FrameDecoder:
    """Incremental decoder: ``feed`` any slice of the stream, get whole payloads.

    ``pending`` holds bytes received but not yet part of a complete frame (a
    partial header, or a header plus part of its payload).
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self._need: int | None = None  # payload length once the header is complete
        self.frames = 0  # complete frames decoded so far

    @property
    def pending(self) -> bytes:
        return bytes(self._buf)

    @property
    def mid_frame(self) -> bool:
        """True when the stream stopped inside a frame (some bytes are waiting)."""
        return bool(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return every payload that is now complete, in order.

        Raises :class:`FrameTooLarge` for a header over ``max_payload``; the
        decoder is then unusable (the stream has lost its boundaries).
        """
        self._buf += data
        out: list[bytes] = []
        while True:
            if self._need is None:
                if len(self._buf) < HEADER_SIZE:
                    return out
                length = HEADER.unpack_from(self._buf)[0]
                if length > self.max_payload:
                    raise FrameTooLarge(length, self.max_payload, bytes(self._buf[:HEADER_SIZE]))
                self._need = length
            end = HEADER_SIZE + self._need
            if len(self._buf) < end:
                return out
            out.append(bytes(self._buf[HEADER_SIZE:end]))
            del self._buf[:end]
            self._need = None
            self.frames += 1
