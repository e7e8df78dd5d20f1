"""What counts as an English sentence left in a Chinese message (tests/test_i18n.py, tests/test_mutants.py).

A Chinese message may hold English in three forms, all allowed:

- student data: quoted text (``'...'``, ``"..."``, ``b'...'``, as ``repr`` shows it) and the parameters that
  carry what a program printed (``STUDENT_DATA``: its output, stderr, traceback), masked before the rule;
- technical tokens: a byte in hex (``bf``), a word with a digit or one of ``()[]{}<>._/=#:@\\'"-`` in it (``sendto()``,
  ``struct.pack('!HH',``, ``0x1f``, ``ACK #1``), a word in capitals (``RRQ``, ``UTF-8``, ``FIN``), and the
  API names of ``TECHNICAL``;
- single words and pairs (a mode name, ``netascii``).

What is left is an English sentence when it has three or more English words in a row: that part of the
message was not translated.

The same rule holds for the evidence notes of an HTML report (``evidence_notes``: each diagram row's full
text and each run's exit, but the rows that show what the program sent or printed, a dialogue's lines and a
run's command line, which are data).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

#: parameters that carry what the program printed or sent, shown as it is
STUDENT_DATA = {"traceback", "stderr", "output", "seen", "printed", "out"}
#: words of code a Chinese sentence names as they are
TECHNICAL = {
    "recv", "recvfrom", "send", "sendto", "sendall", "bind", "listen", "accept", "connect", "close", "shutdown",
    "socket", "struct", "pack", "unpack", "input", "print", "decode", "encode", "utf", "octet", "netascii",
    "exit", "bytes", "str", "int", "wb", "ab", "python", "python3", "localhost", "settimeout", "setsockopt",
    "blksize", "tsize", "timeout", "mode", "mail", "strip", "lower", "sys", "argv", "netgrade", "toml",
    "stdin", "stdout", "stderr", "traceback", "ms", "s", "b", "kib", "mib", "gbk", "gb18030", "sha256",
    "reuseaddr", "so_reuseaddr", "time_wait", "nodelay", "tcp_nodelay", "ipv4", "lf", "cr", "nul", "client_",
    "stdin_prelude", "run", "file", "programs",
}
_QUOTED = re.compile(r"""b?'(?:[^'\\\n]|\\.)*'|b?"(?:[^"\\\n]|\\.)*"|`[^`]*`""")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_WORD = re.compile(r"^[A-Za-z]+$")
_HEX_BYTE = re.compile(r"^[0-9a-f]{2}$")


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def english_sentences(text: str) -> list[str]:
    """The runs of three or more English words in ``text`` once quotes and technical tokens are masked."""
    text = _QUOTED.sub(" § ", text)
    text = _CJK.sub(" § ", text)
    runs, current = [], []
    for token in re.split(r"[\s,;!?，。；：、（）]+", text):
        bare = token.strip(".:")
        if bare and _WORD.match(bare) and not bare.isupper() and bare.lower() not in TECHNICAL \
                and not _HEX_BYTE.match(bare):
            current.append(bare)
            continue
        if token and not bare:  # a lone punctuation mark keeps the run going
            continue
        if len(current) >= 3:
            runs.append(" ".join(current))
        current = []
    if len(current) >= 3:
        runs.append(" ".join(current))
    return runs


def masked(msg: dict | str | int | float, render) -> str:
    """A result's message (its {"id", "params"}) rendered by ``render(id, params)`` with the student-data
    parameters masked; nested messages are masked the same way."""
    if not isinstance(msg, dict):
        return str(msg)
    params = {}
    for k, v in (msg.get("params") or {}).items():
        if k in STUDENT_DATA and isinstance(v, str):
            params[k] = "§"
        else:
            params[k] = masked(v, render) if isinstance(v, dict) else v
    return render(msg.get("id", ""), params)


#: classes of the diagram's rows that show what the program sent or printed, or the lines of a dialogue
#: (student and sheet data, never translated)
STUDENT_ROWS = {"sent", "recv", "stdin", "stdout", "stderr", "dialogue"}


class _EvidenceNotes(HTMLParser):
    """The evidence notes of each failing check of a report: every diagram row's full text (its tooltip) but
    the rows that show student data and a run's command line, and each run's exit, as (check, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.check: str | None = None
        self.row: set[str] | None = None
        self.into: list[str] | None = None
        self.notes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "details" and "check" in classes:
            self.check = a.get("data-check") if a.get("data-status") == "fail" else None
        elif self.check and tag == "g" and "ev" in classes:
            self.row = classes
        elif self.check and (tag == "span" and "exit" in classes  # a run's exit, in the list of runs
                             or tag == "title" and self.row is not None and not self.row & STUDENT_ROWS):
            self.into = []

    def handle_data(self, data):
        if self.into is not None:
            self.into.append(data)

    def handle_endtag(self, tag):
        if tag in ("title", "span") and self.into is not None:
            text, self.into = "".join(self.into), None
            if not text.startswith("▶"):  # a run's command line: the program's own words
                self.notes.append((self.check, re.sub(r"^■ [^:]+: ", "", text)))
        elif tag == "g":
            self.row = None
        elif tag == "details" and self.row is None:
            self.check = None


def evidence_notes(html: str) -> list[tuple[str, str]]:
    parser = _EvidenceNotes()
    parser.feed(html)
    return parser.notes


def untranslated_notes(html: str) -> list[str]:
    """The evidence notes of failing checks in a Chinese HTML report that have no Chinese or keep an English
    sentence (quoted student data masked)."""
    return [f"{check}: {english_sentences(text) or 'no Chinese'} in {text[:300]!r}" for check, text
            in evidence_notes(html) if english_sentences(text) or not has_chinese(text)]
