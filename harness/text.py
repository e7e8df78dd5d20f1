"""Untrusted text made safe to show: decoding, escaping, excerpts; encoding faults named.

Student output is bytes of unknown encoding that may contain terminal escape
sequences or HTML.  Everything shown to a person goes through here first:
decoded as UTF-8, else GB18030 (common in this course's classrooms), else
UTF-8 with the undecodable bytes escaped; then every control character except
newline and tab is written as an escape (``\\x1b``), so nothing a program
prints can move the cursor, recolour the terminal or ring the bell.
"""
from __future__ import annotations

import re

from .i18n import N_, Msg

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def decode(data: bytes) -> str:
    """Bytes to text for display: UTF-8, else GB18030, else UTF-8 with escapes.

    Decided line by line when the whole is not UTF-8, so one GBK line among
    UTF-8 ones (a program that re-encodes only its payload) shows right and
    does not turn the rest into mojibake.  A character cut at either end of
    ``data`` (a kept window of output, a chunk of a stream) is escaped rather
    than taken for GBK.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.splitlines(keepends=True)
    last = len(lines) - 1
    return "".join(_decode_line(line, at_edge=i in (0, last)) for i, line in enumerate(lines))


_UTF8_3BYTE = re.compile(rb"[\xe0-\xef][\x80-\xbf]{2}")  # Chinese in UTF-8; GBK text seldom looks like it
_UTF8_RUN = re.compile(rb"(?:[\x00-\x7f]|[\xe0-\xef][\x80-\xbf]{2})*")


def _gb18030_text(data: bytes) -> str | None:
    """``data`` as GB18030 if that gives text (it decodes almost anything, so look)."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text.replace("\r", "")) else text


def _decode_line(line: bytes, at_edge: bool) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_fault = exc.start
    if at_edge:
        cut = _utf8_cut_at_ends(line)
        if cut is not None:
            return cut
    # a UTF-8 prompt, then GBK bytes written after it on the same line: the UTF-8 part is its ASCII and
    # 3-byte characters up to the first fault (a GBK pair can pass for a 2-byte UTF-8 character)
    k = _UTF8_RUN.match(line, 0, first_fault).end()
    if _UTF8_3BYTE.search(line, 0, k):
        tail = _gb18030_text(line[k:])
        if tail is not None:
            return line[:k].decode("utf-8") + tail
    text = _gb18030_text(line)
    return text if text is not None else line.decode("utf-8", "backslashreplace")


def _utf8_cut_at_ends(line: bytes) -> str | None:
    """``line`` as UTF-8 when its only flaws are characters cut at its two ends."""
    head = 0
    while head < min(3, len(line)) and 0x80 <= line[head] <= 0xBF:
        head += 1
    body = line[head:]
    try:
        text, tail = body.decode("utf-8"), b""
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":
            return None
        try:
            text, tail = body[:exc.start].decode("utf-8"), body[exc.start:]
        except UnicodeDecodeError:
            return None
    if not head and not tail:
        return None
    return line[:head].decode("utf-8", "backslashreplace") + text + tail.decode("utf-8", "backslashreplace")


def _escape(m: re.Match) -> str:
    c = m.group(0)
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def printable(text: str, keep_newlines: bool = True) -> str:
    """Escape control characters; keep newlines (and tabs) unless asked not to."""
    out = _CONTROL.sub(_escape, text)
    if not keep_newlines:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    return out


def show_bytes(data: bytes, limit: int = 200) -> str:
    """A one-line, safe rendering of a payload, e.g. for messages."""
    more = len(data) - limit
    text = printable(decode(data[:limit]), keep_newlines=False)
    return repr(text) + (f" (+{more} more bytes)" if more > 0 else "")


def hexdump(data: bytes, limit: int = 64) -> str:
    head = data[:limit].hex(" ")
    return head + (" …" if len(data) > limit else "")


def short(text: str, limit: int = 300) -> str:
    text = printable(text, keep_newlines=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def traceback_tail(stderr: str, n: int = 4) -> str | None:
    """The last lines of a Python traceback in ``stderr``, if there is one."""
    idx = stderr.rfind("Traceback (most recent call last):")
    if idx < 0:
        return None
    lines = [ln for ln in stderr[idx:].rstrip().splitlines()
             if ln.strip() and set(ln.strip()) - set("^~")]  # drop 3.11's ^^^^ markers
    return "\n".join(lines[-n:])


# ------------------------------------------------------------------ encodings
# Text on the wire is UTF-8 (the sheet).  Classrooms run Windows consoles in
# GBK, so a payload in GBK (or decoded as GBK) is the most frequent real fault
# after a wrong port; these helpers name it instead of showing two strings
# that look alike once decoded for display.

_WIRE_CODECS = (("GBK", "gbk"), ("GB18030", "gb18030"), ("Big5", "big5"),
                ("UTF-16", "utf-16-le"), ("UTF-16", "utf-16-be"))


def _sample(expected: str, limit: int = 8) -> str:
    """The first run of non-ASCII characters of ``expected`` (at most ``limit``)."""
    m = re.search(r"[^\x00-\x7f]+", expected)
    return m.group(0)[:limit] if m else ""


def _mojibakes(sample: str) -> list[str]:
    """What ``sample``'s UTF-8 bytes look like when decoded as GBK (the longest clean run of 2+ characters).

    Students decode with ``errors='ignore'`` or ``'replace'`` (strict decoding
    crashes, which the traceback already says), with 'gbk' or 'gb18030'.
    """
    out = []
    for codec in ("gbk", "gb18030"):
        for errors in ("replace", "ignore"):
            text = max(sample.encode("utf-8").decode(codec, errors).split("\ufffd"), key=len)
            if len(text) >= 2 and text not in out:
                out.append(text)
    return out


def _bytes_repr(sample: str) -> str:
    """``sample``'s UTF-8 bytes as ``str(bytes)`` shows them: \\xe4\\xbd\\xa0..."""
    return "".join(f"\\x{b:02x}" for b in sample.encode("utf-8"))


def describe_encoding_mismatch(expected: str, seen: bytes) -> Msg | None:
    """Why ``seen`` is not ``expected`` in UTF-8, when an encoding explains it; else None.

    Looks at the first run of non-ASCII characters of ``expected`` (ASCII is
    the same in every encoding the course meets): sent as GBK (or GB18030,
    Big5, UTF-16); received as UTF-8, decoded as GBK and sent again (mojibake);
    or sent as the text of a bytes object (``str(data).encode()``).  The
    message shows both byte strings, e.g. "sent GBK bytes (c4 e3 ba c3) for
    '你好'; the sheet's wire format is UTF-8 (e4 bd a0 e5 a5 bd)".
    """
    sample = _sample(expected)
    if not sample or sample.encode("utf-8") in seen:
        return None
    utf8 = sample.encode("utf-8")
    for name, codec in _WIRE_CODECS:
        try:
            theirs = sample.encode(codec)
        except UnicodeEncodeError:
            continue
        if theirs in seen:
            return (Msg(N_("sent {name} bytes ({hexdump}) for {sample}; the sheet's wire format is UTF-8 ({hexdump2}): "
                        "encode with .encode('utf-8') (or plain .encode())"),
                    {"name": name, "hexdump": hexdump(theirs, 24), "sample": repr(sample),
                     "hexdump2": hexdump(utf8, 24)}))
    for moj in _mojibakes(sample):
        if moj.encode("utf-8") in seen:
            return (Msg(N_("sent {moj} for {sample}: its UTF-8 bytes ({hexdump}) were decoded as GBK and encoded again; "
                        "decode what arrives with .decode('utf-8')"),
                    {"moj": repr(moj), "sample": repr(sample), "hexdump": hexdump(utf8, 24)}))
    if _bytes_repr(sample[0]).encode() in seen:
        return (Msg(N_("sent the text of a bytes object (b'{bytes_sample_40}...', what str(data) gives) for {sample}; "
                    "send the bytes themselves ({hexdump})"),
                {"bytes_sample_40": _bytes_repr(sample)[:40], "sample": repr(sample), "hexdump": hexdump(utf8, 24)}))
    return None


def describe_misdecoded_output(expected: str, output: str) -> Msg | None:
    """Why ``expected`` is missing from a program's output, when decoding explains it; else None.

    Output is shown decoded leniently (UTF-8, else GB18030), so a program that
    prints in GBK is fine; what is named here is text the program itself got
    wrong: UTF-8 bytes decoded as GBK (mojibake), or a bytes object printed
    without decoding (``b'\\xe4\\xbd\\xa0'``).
    """
    sample = _sample(expected)
    if not sample or sample in output:
        return None
    if _bytes_repr(sample[0]) in output:
        return (Msg(N_("it printed the bytes object (b'{bytes_sample_40}...') instead of the text {sample}: print "
                    "data.decode('utf-8'), not data"),
                {"bytes_sample_40": _bytes_repr(sample)[:40], "sample": repr(sample)}))
    for moj in _mojibakes(sample):
        if moj in output:
            return (Msg(N_("it printed {moj} for {sample}: the UTF-8 bytes it received were decoded as GBK; decode with "
                        ".decode('utf-8')"),
                    {"moj": repr(moj), "sample": repr(sample)}))
    return None
