"""Helpers shared by the renderers: untrusted text made safe, and cut to size."""
from __future__ import annotations

import re

from ..text import printable

# Characters XML 1.0 forbids (and that browsers/CI viewers choke on).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def safe(text: str | None, keep_newlines: bool = True) -> str:
    """Untrusted text with control characters (terminal escapes...) written as escapes."""
    return printable(text or "", keep_newlines=keep_newlines)


def clip(text: str, limit: int) -> tuple[str, int]:
    """At most ``limit`` characters of ``text`` and how many were left out."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def head_tail(text: str, limit: int) -> tuple[str, str, int]:
    """The start and end of a long text (errors usually sit at the end) and the count cut between."""
    if len(text) <= limit:
        return text, "", 0
    head = limit * 2 // 3
    tail = limit - head
    return text[:head], text[-tail:], len(text) - head - tail


_INTERPRETER = re.compile(r"python(\d+(\.\d+)?)?")


def shown_command(argv: list | None) -> str:
    """A program's command as the student types it: ``python3 tftp_client.py``.

    The interpreter netgrade really ran (a path into its cache, on the
    grading machine) is evidence for the JSON only; any other command is shown
    as given.
    """
    args = [str(x) for x in argv or []]
    if args and "/" in args[0] and _INTERPRETER.fullmatch(args[0].rsplit("/", 1)[-1]):
        args[0] = "python3"
    return " ".join(args)


def one_line(text: str | None, limit: int = 300) -> str:
    text = safe(text, keep_newlines=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def xml_text(text: str | None) -> str:
    """Text XML 1.0 can carry: control characters escaped, the rest untouched."""
    return _XML_BAD.sub(lambda m: f"\\x{ord(m.group(0)):02x}", safe(text))
