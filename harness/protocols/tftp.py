"""TFTP packets (RFC 1350, options RFC 2347/2348/2349) as bytes and back.

Sans-IO: every function here turns packet objects into bytes or bytes into
packet objects and never touches a socket, so the reference programs, the
grader's peers and the unit tests share one codec.

Wire format (all numbers are 2-byte big-endian)::

    RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | [opt | 0 | value | 0]...
    DATA     | 03    | block    | data (0..blksize bytes)
    ACK      | 04    | block
    ERROR    | 05    | code     | message | 0
    OACK     | 06    | opt | 0 | value | 0 ...

Decoding is strict: bytes that are not one of these packets raise
:class:`TftpDecodeError` with a sentence saying what is wrong, never an
IndexError or struct.error.  :func:`describe` renders any datagram (even a
malformed one) in a few words for evidence.

Text fields (filenames, modes, option names and values, error messages) are
decoded as UTF-8 with ``surrogateescape``, so any bytes survive a round trip.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Union

try:  # in netgrade: messages for the report's language
    from ..i18n import N_, Msg
except ImportError:  # exported beside the reference programs as tftp_codec: English text
    def N_(message: str) -> str:
        return message

    def Msg(template: str, params: dict | None = None) -> str:  # noqa: N802 - stands in for the class
        return template.format(**params) if params else template

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6

BLOCK_SIZE = 512  # RFC 1350 §2: every DATA block but the last is this long
MAX_BLOCK = 0xFFFF
MIN_BLKSIZE, MAX_BLKSIZE = 8, 65464  # RFC 2348
MIN_TIMEOUT, MAX_TIMEOUT = 1, 255  # RFC 2349

_U16 = struct.Struct("!H")
_HEAD = struct.Struct("!HH")


class Opcode(IntEnum):
    RRQ = RRQ
    WRQ = WRQ
    DATA = DATA
    ACK = ACK
    ERROR = ERROR
    OACK = OACK


class ErrorCode(IntEnum):
    """RFC 1350 appendix, plus 8 from RFC 2347."""

    NOT_DEFINED = 0
    FILE_NOT_FOUND = 1
    ACCESS_VIOLATION = 2
    DISK_FULL = 3
    ILLEGAL_OPERATION = 4
    UNKNOWN_TID = 5
    FILE_EXISTS = 6
    NO_SUCH_USER = 7
    OPTION_REFUSED = 8


ERROR_TEXT = {
    0: "Not defined",
    1: "File not found",
    2: "Access violation",
    3: "Disk full or allocation exceeded",
    4: "Illegal TFTP operation",
    5: "Unknown transfer ID",
    6: "File already exists",
    7: "No such user",
    8: "Option negotiation failed",
}

MODES = ("netascii", "octet", "mail")

# what each opcode asks for, in the words a message about a wrong opcode needs
OPCODE_MEANING = {
    RRQ: Msg(N_("RRQ, a read request: a download")),
    WRQ: Msg(N_("WRQ, a write request: an upload")),
    DATA: Msg(N_("DATA, a block of the file")),
    ACK: Msg(N_("ACK, an acknowledgement")),
    ERROR: "ERROR",
    OACK: Msg(N_("OACK, an option acknowledgement")),
}


class TftpDecodeError(ValueError):
    """The bytes are not a well-formed TFTP packet; the message says why (``message``: as a netgrade
    message, in the report's language)."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


# ------------------------------------------------------------------ packets

@dataclass(frozen=True)
class Request:
    """RRQ (read, opcode 1) or WRQ (write, opcode 2).

    ``mode`` is kept as sent (compare it with ``.mode.lower()``, RFC 1350
    says it is case-insensitive); option names are lower-cased (RFC 2347:
    case-insensitive) and keep their order.
    """

    opcode: int
    filename: str
    mode: str = "octet"
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Opcode(self.opcode).name


@dataclass(frozen=True)
class Data:
    block: int
    data: bytes = b""


@dataclass(frozen=True)
class Ack:
    block: int


@dataclass(frozen=True)
class Error:
    code: int
    message: str = ""


@dataclass(frozen=True)
class OAck:
    options: dict[str, str] = field(default_factory=dict)


Packet = Union[Request, Data, Ack, Error, OAck]


# ------------------------------------------------------------------ encoding

def _text(value: str, what: str) -> bytes:
    raw = value.encode("utf-8", "surrogateescape")
    if b"\0" in raw:
        raise ValueError(f"{what} {value!r} contains a NUL byte")
    return raw


def _block(n: int) -> int:
    if not 0 <= n <= MAX_BLOCK:
        raise ValueError(f"block number {n} does not fit in 16 bits (wrap it with `n & 0xFFFF`)")
    return n


def _pairs(options: dict[str, str]) -> bytes:
    out = b""
    for name, value in options.items():
        out += _text(str(name), "option name") + b"\0" + _text(str(value), "option value") + b"\0"
    return out


def encode(packet: Packet) -> bytes:
    """The bytes of ``packet`` on the wire."""
    if isinstance(packet, Request):
        if packet.opcode not in (RRQ, WRQ):
            raise ValueError(f"a request has opcode 1 or 2, not {packet.opcode}")
        if not packet.filename:
            raise ValueError("a request needs a filename")
        return (_U16.pack(packet.opcode) + _text(packet.filename, "filename") + b"\0"
                + _text(packet.mode, "mode") + b"\0" + _pairs(packet.options))
    if isinstance(packet, Data):
        return _HEAD.pack(DATA, _block(packet.block)) + bytes(packet.data)
    if isinstance(packet, Ack):
        return _HEAD.pack(ACK, _block(packet.block))
    if isinstance(packet, Error):
        if not 0 <= packet.code <= 0xFFFF:
            raise ValueError(f"error code {packet.code} does not fit in 16 bits")
        return _HEAD.pack(ERROR, packet.code) + _text(packet.message, "error message") + b"\0"
    if isinstance(packet, OAck):
        return _U16.pack(OACK) + _pairs(packet.options)
    raise TypeError(f"not a TFTP packet: {packet!r}")


def rrq(filename: str, mode: str = "octet", options: dict[str, str] | None = None) -> bytes:
    return encode(Request(RRQ, filename, mode, dict(options or {})))


def wrq(filename: str, mode: str = "octet", options: dict[str, str] | None = None) -> bytes:
    return encode(Request(WRQ, filename, mode, dict(options or {})))


def data(block: int, payload: bytes) -> bytes:
    return encode(Data(block, payload))


def ack(block: int) -> bytes:
    return encode(Ack(block))


def error(code: int, message: str | None = None) -> bytes:
    return encode(Error(code, ERROR_TEXT.get(code, "") if message is None else message))


def oack(options: dict[str, str]) -> bytes:
    return encode(OAck(dict(options)))


# ------------------------------------------------------------------ decoding

def _str(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _fields(body: bytes, names: list[str], kind: str) -> list[bytes]:
    """NUL-terminated fields of ``body``; names the field a missing NUL follows."""
    if not body.endswith(b"\0"):
        parts = body.split(b"\0")
        idx = len(parts) - 1
        what = names[idx] if idx < len(names) else \
            (N_("option name") if (idx - len(names)) % 2 == 0 else N_("option value"))
        raise TftpDecodeError(Msg(N_("{kind} without NUL after the {what}"),
                                  {"kind": kind, "what": Msg(what)}))
    return body[:-1].split(b"\0")


def _options(raw: list[bytes], kind: str) -> dict[str, str]:
    if len(raw) % 2:
        raise TftpDecodeError(Msg(N_("{kind} with option {raw_1} but no value for it"),
                      {"kind": kind, "raw_1": repr(_str(raw[-1]))}))
    opts: dict[str, str] = {}
    for i in range(0, len(raw), 2):
        name = _str(raw[i]).lower()
        if not name:
            raise TftpDecodeError(Msg(N_("{kind} with an empty option name"),
                          {"kind": kind}))
        if name in opts:
            raise TftpDecodeError(Msg(N_("{kind} with option {name} twice"),
                          {"kind": kind, "name": repr(name)}))
        opts[name] = _str(raw[i + 1])
    return opts


def decode(packet: bytes) -> Packet:
    """The packet in ``packet``; :class:`TftpDecodeError` if it is not one."""
    packet = bytes(packet)
    if len(packet) < 2:
        raise TftpDecodeError(Msg(N_("a {n_packet}-byte datagram is too short for an opcode (2 bytes)"),
                      {"n_packet": len(packet)}))
    (op,) = _U16.unpack_from(packet)
    body = packet[2:]
    if op in (RRQ, WRQ):
        kind = Opcode(op).name
        if not body:
            raise TftpDecodeError(Msg(N_("{kind} with nothing after the opcode (no filename, no mode)"),
                          {"kind": kind}))
        if b"\0" not in body:
            raise TftpDecodeError(Msg(N_("{kind} without NUL after the filename"),
                          {"kind": kind}))
        fields = _fields(body, [N_("filename"), N_("mode")], kind)
        if not fields[0]:
            raise TftpDecodeError(Msg(N_("{kind} with an empty filename"),
                          {"kind": kind}))
        if len(fields) < 2:
            raise TftpDecodeError(Msg(N_("{kind} without a mode after the filename"),
                          {"kind": kind}))
        if not fields[1]:
            raise TftpDecodeError(Msg(N_("{kind} with an empty mode"),
                          {"kind": kind}))
        return Request(op, _str(fields[0]), _str(fields[1]), _options(fields[2:], kind))
    if op == DATA:
        if len(packet) < 4:
            raise TftpDecodeError(Msg(N_("DATA of {n_packet} bytes: too short for a block number (4 bytes at least)"),
                          {"n_packet": len(packet)}))
        return Data(_U16.unpack_from(packet, 2)[0], packet[4:])
    if op == ACK:
        if len(packet) != 4:
            raise TftpDecodeError(Msg(N_("ACK of {n_packet} bytes: an ACK is exactly 4 bytes (opcode, block)"),
                          {"n_packet": len(packet)}))
        return Ack(_U16.unpack_from(packet, 2)[0])
    if op == ERROR:
        if len(packet) < 4:
            raise TftpDecodeError(Msg(N_("ERROR of {n_packet} bytes: too short for an error code"),
                          {"n_packet": len(packet)}))
        text = packet[4:]
        if b"\0" not in text:
            raise TftpDecodeError(Msg(N_("ERROR without NUL after the message")))
        return Error(_U16.unpack_from(packet, 2)[0], _str(text[: text.index(b"\0")]))
    if op == OACK:
        if not body:
            raise TftpDecodeError(Msg(N_("OACK without any option")))
        fields = _fields(body, [], "OACK")
        return OAck(_options(fields, "OACK"))
    raise TftpDecodeError(Msg(N_("unknown opcode {op} (TFTP has 1-6)"),
                  {"op": op}))


def try_decode(packet: bytes) -> tuple[Packet | None, str]:
    """(packet, "") or (None, why it is malformed)."""
    try:
        return decode(packet), ""
    except TftpDecodeError as exc:
        return None, exc.message


# ------------------------------------------------------------------ words

def _opts_text(options: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in options.items())


def describe(packet: bytes | Packet) -> str | Msg:
    """A few words for evidence: "DATA #3 (512 B)", "ACK #2", "ERROR 1 'File not found'" (technical tokens,
    the same in every language); a malformed packet's, a message saying why."""
    if isinstance(packet, (bytes, bytearray, memoryview)):
        raw = bytes(packet)
        try:
            packet = decode(raw)
        except TftpDecodeError as exc:
            return Msg(N_("malformed, {size} B: {why}"), {"size": len(raw), "why": exc.message})
    if isinstance(packet, Request):
        opts = f" {_opts_text(packet.options)}" if packet.options else ""
        return f"{packet.name} {packet.filename!r} {packet.mode}{opts}"
    if isinstance(packet, Data):
        return f"DATA #{packet.block} ({len(packet.data)} B)"
    if isinstance(packet, Ack):
        return f"ACK #{packet.block}"
    if isinstance(packet, Error):
        return f"ERROR {packet.code} {packet.message!r}"
    if isinstance(packet, OAck):
        return f"OACK {_opts_text(packet.options)}"
    return repr(packet)


def opcode_of(packet: bytes) -> int | None:
    """The opcode of a datagram (None when it is shorter than 2 bytes)."""
    return _U16.unpack_from(packet)[0] if len(packet) >= 2 else None


def opcode_fault(packet: bytes, want: int) -> str:
    """"" when ``packet`` starts with opcode ``want``; else a sentence naming what it carries instead.

    Swapped constants are a frequent slip (an RRQ sent as 2, an ACK as 3, a
    server's DATA as 4): the sentence says what the opcode seen means, and
    what belongs there, so the slip can be found in the program.
    """
    op = opcode_of(packet)
    if op == want:
        return ""
    belongs = Msg(N_("opcode {want} ({opcode_meaning}) belongs"),
            {"want": want, "opcode_meaning": OPCODE_MEANING[want]})
    if op is None:
        return Msg(N_("a {n_packet}-byte datagram, too short for an opcode, where {belongs}"),
                {"n_packet": len(packet), "belongs": belongs})
    seen = Msg(N_("opcode {op} ({opcode_meaning})"),
            {"op": op, "opcode_meaning": OPCODE_MEANING[op]}) if op in OPCODE_MEANING else Msg(N_("opcode {op}, which TFTP does not have,"),
            {"op": op})
    return Msg(N_("{seen} where {belongs}"),
            {"seen": seen, "belongs": belongs})


# ------------------------------------------------------------------ transfer helpers

def blocks(content: bytes, blksize: int = BLOCK_SIZE) -> list[bytes]:
    """``content`` cut into DATA payloads: the last is shorter than ``blksize``, empty if need be."""
    out = [content[i:i + blksize] for i in range(0, len(content), blksize)]
    if not out or len(out[-1]) == blksize:
        out.append(b"")
    return out


def block_number(index: int) -> int:
    """The 16-bit block number of the ``index``-th block (1-based); wraps 65535 → 0."""
    return index & MAX_BLOCK


def to_netascii(raw: bytes) -> bytes:
    """Local text (LF line ends) to netascii: LF → CR LF, a bare CR → CR NUL (RFC 1350 §5, 764).

    Each input byte maps on its own, so chunks can be converted one by one.
    """
    return raw.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


class NetasciiDecoder:
    """Netascii back to local text, fed block by block (a CR may end one block)."""

    def __init__(self) -> None:
        self._cr = False

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for b in chunk:
            if self._cr:
                self._cr = False
                if b == 0x0A:
                    out.append(0x0A)
                elif b == 0x00:
                    out.append(0x0D)
                else:  # a CR followed by something else: keep both
                    out.append(0x0D)
                    if b == 0x0D:
                        self._cr = True
                    else:
                        out.append(b)
                continue
            if b == 0x0D:
                self._cr = True
            else:
                out.append(b)
        return bytes(out)

    def flush(self) -> bytes:
        if self._cr:
            self._cr = False
            return b"\r"
        return b""


def from_netascii(raw: bytes) -> bytes:
    dec = NetasciiDecoder()
    return dec.feed(raw) + dec.flush()
