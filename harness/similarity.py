"""Token-level similarity of Python programs: winnowed k-gram fingerprints.

The method of MOSS (Schleimer, Wilkerson and Aiken, "Winnowing", SIGMOD 2003),
as compare50 and copydetect use it, over Python's own tokens:

- a program is read with the standard library's :mod:`tokenize`; every
  identifier becomes one symbol (``N``), every literal one symbol of its kind
  (``S`` for strings and f-strings, ``0`` for numbers), comments, blank lines,
  line breaks inside brackets and docstrings are dropped; keywords, operators
  and the block structure (``NEWLINE``, ``INDENT``, ``DEDENT``) stay.  So
  renaming, reformatting and re-commenting change nothing;
- every run of ``K`` consecutive symbols (a k-gram) is hashed with a fixed
  hash (blake2b: the same fingerprints in every process, unlike ``hash()``);
- winnowing keeps the smallest hash of every window of ``W`` consecutive
  k-grams (the rightmost on ties), which guarantees that any match of at
  least ``K + W - 1`` symbols is found.

:func:`compare` gives the share of one program's fingerprints found in
another.  Fingerprints of a *base* (code every student is given) can be
subtracted first, as MOSS's base file does.
"""
from __future__ import annotations

import hashlib
import io
import keyword
import re
import token as tok
import tokenize
from dataclasses import dataclass, field

#: k-gram length, in symbols
K = 10
#: winnowing window, in k-grams (matches of K + W - 1 = 14 symbols are always found)
W = 5

_FSTRING = {getattr(tok, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tok, n)}
_SKIP = {tok.COMMENT, tok.NL, tok.ENCODING, tok.ENDMARKER, tok.TYPE_COMMENT if hasattr(tok, "TYPE_COMMENT") else -1}
_STATEMENT_START = {"NEWLINE", "INDENT", "DEDENT", None}
# a fallback lexer for text tokenize refuses (a fragment, a syntax error): names, numbers, strings, operators
_LEX = re.compile(r"""(?P<comment>\#[^\n]*)|(?P<string>(?:[rRbBuUfF]{0,2})(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\n]*'|"[^"\n]*"))"""
                  r"""|(?P<number>\d[\w.]*)|(?P<name>\w+)|(?P<newline>\n)|(?P<op>[^\s\w])""")


@dataclass(frozen=True)
class Symbol:
    text: str   # the normalized symbol
    line: int   # 1-based source line where it starts


def _symbol(t: tokenize.TokenInfo) -> str | None:
    if t.type in _SKIP:
        return None
    if t.type == tok.NAME:
        return t.string if keyword.iskeyword(t.string) else "N"
    if t.type == tok.STRING:
        return "S"
    if t.type == tok.NUMBER:
        return "0"
    if t.type == tok.NEWLINE or (t.type == tok.OP and t.string == ";"):
        return "NEWLINE"
    if t.type == tok.INDENT:
        return "INDENT"
    if t.type == tok.DEDENT:
        return "DEDENT"
    if t.type in _FSTRING:
        return "S"
    if t.type == tok.OP:
        return t.string
    return None  # ERRORTOKEN and the like


def _drop_docstrings(symbols: list[Symbol]) -> list[Symbol]:
    """A string that is a statement of its own (a docstring) is a comment."""
    out: list[Symbol] = []
    i = 0
    while i < len(symbols):
        s = symbols[i]
        prev = out[-1].text if out else None
        nxt = symbols[i + 1].text if i + 1 < len(symbols) else "NEWLINE"
        if s.text == "S" and prev in _STATEMENT_START and nxt == "NEWLINE":
            i += 2  # the string and its NEWLINE
            continue
        out.append(s)
        i += 1
    # adjacent string literals ("a" "b") are one literal
    merged: list[Symbol] = []
    for s in out:
        if s.text == "S" and merged and merged[-1].text == "S":
            continue
        merged.append(s)
    return merged


def _fallback(source: str) -> list[Symbol]:
    symbols = []
    for m in _LEX.finditer(source):
        kind = m.lastgroup
        line = source.count("\n", 0, m.start()) + 1
        if kind == "comment":
            continue
        if kind == "string":
            symbols.append(Symbol("S", line))
        elif kind == "number":
            symbols.append(Symbol("0", line))
        elif kind == "name":
            symbols.append(Symbol(m.group() if keyword.iskeyword(m.group()) else "N", line))
        elif kind == "newline":
            if symbols and symbols[-1].text != "NEWLINE":
                symbols.append(Symbol("NEWLINE", line))
        else:
            symbols.append(Symbol(m.group(), line))
    return symbols


def symbols(source: str) -> list[Symbol]:
    """The normalized symbols of a Python program (a fragment or broken code too)."""
    out: list[Symbol] = []
    done = 0  # lines tokenize has read whole
    try:
        for t in tokenize.generate_tokens(io.StringIO(source).readline):
            s = _symbol(t)
            if s is not None:
                out.append(Symbol(s, t.start[0]))
            if t.type in (tok.NEWLINE, tok.NL, tok.COMMENT):
                done = t.end[0]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # keep the tokens of the complete lines before the problem; the rest with the fallback lexer
        out = [s for s in out if s.line <= done]
        rest = source.splitlines(True)[done:]
        out += [Symbol(s.text, s.line + done) for s in _fallback("".join(rest))]
    return _drop_docstrings(out)


def decode(data: bytes) -> str:
    """A program file's text: its declared encoding, else UTF-8, else GB18030 (Chinese Windows), else lossy."""
    try:
        enc, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        enc = "utf-8"
    for candidate in (enc, "utf-8", "gb18030"):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")


def _hash(gram: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "big")


def winnow(hashes: list[int], w: int = W) -> list[int]:
    """Positions of the fingerprints: the smallest hash of each window (rightmost on ties)."""
    if len(hashes) <= w:
        return [min(range(len(hashes)), key=lambda i: (hashes[i], -i))] if hashes else []
    picked: list[int] = []
    for start in range(len(hashes) - w + 1):
        window = range(start, start + w)
        best = min(window, key=lambda i: (hashes[i], -i))
        if not picked or picked[-1] != best:
            picked.append(best)
    return picked


@dataclass
class Fingerprint:
    """A program's fingerprints: hash -> positions (k-gram start, in symbols)."""
    symbols: list[Symbol]
    hashes: dict[int, list[int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.hashes)

    def without(self, base: set[int]) -> "Fingerprint":
        return Fingerprint(self.symbols, {h: p for h, p in self.hashes.items() if h not in base})

    def lines(self, pos: int) -> tuple[int, int]:
        """Source lines of the k-gram starting at symbol ``pos``."""
        end = min(pos + K, len(self.symbols)) - 1
        return self.symbols[pos].line, self.symbols[end].line


def fingerprint(source: str) -> Fingerprint:
    syms = symbols(source)
    texts = tuple(s.text for s in syms)
    grams = [_hash(texts[i:i + K]) for i in range(len(texts) - K + 1)]
    if not grams and texts:  # shorter than one k-gram: the whole program is one
        grams = [_hash(texts)]
    fp = Fingerprint(syms)
    for i in winnow(grams):
        fp.hashes.setdefault(grams[i], []).append(i)
    return fp


def base_hashes(sources) -> set[int]:
    """Every fingerprint of the base programs (code all students are given)."""
    out: set[int] = set()
    for src in sources:
        out.update(fingerprint(src).hashes)
    return out


def compare(a: Fingerprint, b: Fingerprint) -> float:
    """Share of ``b``'s fingerprints that occur in ``a`` (0.0 to 1.0): how much of b is in a."""
    if not b.hashes:
        return 0.0
    return len(a.hashes.keys() & b.hashes.keys()) / len(b.hashes)


@dataclass
class Region:
    """Lines of two programs that share fingerprints, in order."""
    a_lines: tuple[int, int]
    b_lines: tuple[int, int]
    fingerprints: int


def shared_regions(a: Fingerprint, b: Fingerprint, gap: int = K) -> list[Region]:
    """The runs of shared fingerprints, as line ranges of each program (longest first)."""
    pairs = sorted((a.hashes[h][0], b.hashes[h][0]) for h in a.hashes.keys() & b.hashes.keys())
    runs: list[list[tuple[int, int]]] = []
    for pa, pb in pairs:
        if runs:
            la, lb = runs[-1][-1]
            if 0 <= pa - la <= gap + K and 0 <= pb - lb <= gap + K:
                runs[-1].append((pa, pb))
                continue
        runs.append([(pa, pb)])
    regions = []
    for run in runs:
        a0, b0 = run[0]
        a1, b1 = run[-1]
        regions.append(Region((a.lines(a0)[0], a.lines(a1)[1]), (b.lines(b0)[0], b.lines(b1)[1]), len(run)))
    regions.sort(key=lambda r: -r.fingerprints)
    return regions
