"""Untrusted text made safe to show: decoding, escaping, excerpts.

Student output is bytes of unknown encoding that may contain terminal escape
sequences or HTML.  Everything shown to a person goes through here first:
decoded as UTF-8, else GB18030 (common in this course's classrooms), else
UTF-8 with the undecodable bytes escaped; then every control character except
newline and tab is written as an escape (``\\x1b``), so nothing a program
prints can move the cursor, recolour the terminal or ring the bell.
"""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def decode(data: bytes) -> str:
    """Bytes to text for display: UTF-8, else GB18030, else UTF-8 with escapes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        # GB18030 decodes almost anything; accept it only if it looks like text
        if not _CONTROL.search(text.replace("\r", "")):
            return text
    except UnicodeDecodeError:
        pass
    return data.decode("utf-8", "backslashreplace")


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
