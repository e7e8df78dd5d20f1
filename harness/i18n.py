"""Every text a person reads, in English and Chinese, through gettext catalogs.

A fixed text is written in English in the code and marked for translation:
``_("Score")`` where it is shown, ``N_("...")`` where it is only named (a
title, a message id).  ``pybabel extract`` (``babel.cfg``) gathers the marked
texts into ``harness/locale/netgrade.pot``; ``harness/locale/zh_CN/LC_MESSAGES/
netgrade.po`` holds their Chinese, and the build compiles it into the
``netgrade.mo`` an installed wheel carries (``setup.py``).  At run time only
stdlib :mod:`gettext` reads it; a source checkout without a compiled ``.mo``
compiles the ``.po`` in memory with Babel.

A check's message is a :class:`Msg`: the English template (its gettext msgid,
with named ``str.format`` fields) and its parameters.  Parameters are what
the program did or the check expected (bytes shown as ``b'..'``, ports,
counts), or other messages; a string parameter is never translated.  The
result keeps both (``message_id``, ``message_params``), so any report can be
rendered again in either language from the JSON (``netgrade report``).

This module is at the bottom of the layers: peers, suites and the plugin make
messages, the outputs render them.
"""
from __future__ import annotations

import gettext
import importlib.util
import io
import os
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

LANGS = ("en", "zh")
DEFAULT_LANG = "en"
DOMAIN = "netgrade"
LOCALE_DIR = Path(__file__).parent / "locale"
#: the gettext locale of each language
LOCALES = {"zh": "zh_CN"}


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is only named (translated when shown)."""
    return message


def norm_lang(lang: str | None) -> str:
    """``zh-CN``, ``zh_TW.UTF-8``, ``ZH`` -> ``zh``; anything unknown -> English."""
    if not lang:
        return DEFAULT_LANG
    base = lang.replace("_", "-").split(".")[0].split("-")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


def locale_lang(environ: Mapping[str, str] | None = None) -> str | None:
    """The language of the user's locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), if it is one
    netgrade speaks; None for none or the C/POSIX locale."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        for part in value.split(":"):
            base = part.replace("_", "-").split(".")[0].split("-")[0].lower()
            if base in LANGS:
                return base
        if value and value.split(".")[0] not in ("C", "POSIX"):
            return None  # the first one set decides, as in gettext
    return None


def choose_lang(option: str | None, pack_lang: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``--lang``, else the pack's ``lang``, else the user's locale, else English."""
    for candidate in (option, pack_lang, locale_lang(environ)):
        if candidate:
            return norm_lang(candidate)
    return DEFAULT_LANG


def _mo_of(lang: str) -> tuple[Path, Path]:
    folder = LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES"
    return folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"


def compile_po(po: Path) -> bytes:
    """The ``.mo`` of ``po`` (Babel; at build time, and for a source checkout that has none compiled)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with open(po, "rb") as f:
        catalog = read_po(f)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


@lru_cache(maxsize=None)
def translations(lang: str | None) -> gettext.NullTranslations:
    """The catalog of ``lang`` (English: the messages as written), for ``gettext``/``pgettext`` and for jinja2's
    ``Environment.install_gettext_translations(translations(lang), newstyle=True)``."""
    lang = norm_lang(lang)
    if lang == DEFAULT_LANG:
        return gettext.NullTranslations()
    mo, po = _mo_of(lang)
    # a source checkout has the .po (the build compiles the .mo; here it is made in memory, also when the .po
    # was edited after a .mo was made); an installed package has the .mo alone and needs no Babel
    stale = mo.is_file() and po.is_file() and po.stat().st_mtime > mo.stat().st_mtime
    if po.is_file() and (not mo.is_file() or stale) and importlib.util.find_spec("babel") is not None:
        return gettext.GNUTranslations(io.BytesIO(compile_po(po)))
    if mo.is_file():
        with open(mo, "rb") as f:
            return gettext.GNUTranslations(f)
    raise FileNotFoundError(f"netgrade's {LOCALES[lang]} catalog is missing ({mo})")


def gettext_(text: str, lang: str | None) -> str:
    """``text`` (a msgid) in ``lang``; the empty text stays empty (gettext would give the catalog's header)."""
    return translations(lang).gettext(text) if text else text


def pgettext_(context: str, text: str, lang: str | None) -> str:
    return translations(lang).pgettext(context, text)


def _param(value: Any) -> Any:
    """A parameter as the JSON keeps it: a message, a number, or a display string."""
    if isinstance(value, (Msg, str)) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    if isinstance(value, BaseException) and isinstance(getattr(value, "message", None), Msg):
        return value.message  # a failure, a peer's error: its message, in the report's language
    return str(value)


_FORMATTER = string.Formatter()


def fields_of(template: str) -> set[str]:
    """The names of the fields of a ``str.format`` template (ValueError when it is malformed)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in _FORMATTER.parse(template) if name}


@dataclass(frozen=True, eq=False)
class Msg:
    """A message: its English template (the gettext msgid) and its parameters.

    ``str(msg)`` is the English text.  Two messages (or a message and a plain
    string, kept as it is) joined with ``+`` are one message, rendered part
    after part.  A template without parameters is not formatted (its braces are
    literal).
    """

    id: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.id, Msg):  # Msg(word), the word already a message: that message itself
            inner = self.id
            if self.params:
                raise TypeError(f"a message's template is a message ({inner.id!r}) and has parameters too")
            object.__setattr__(self, "id", inner.id)
            object.__setattr__(self, "params", dict(inner.params))
        elif not isinstance(self.id, str):
            raise TypeError(f"a message's template is a {type(self.id).__name__}, not a str: {self.id!r:.200}")
        object.__setattr__(self, "params", {k: _param(v) for k, v in self.params.items()})

    @classmethod
    def of(cls, template: str, **params: Any) -> Msg:
        return cls(template, params)

    def render(self, lang: str | None = DEFAULT_LANG) -> str:
        if not self.params:
            return gettext_(self.id, lang)
        shown = {k: v.render(lang) if isinstance(v, Msg) else v for k, v in self.params.items()}
        text = gettext_(self.id, lang)
        try:
            return text.format(**shown)
        except (KeyError, IndexError, ValueError, AttributeError):  # a broken translation: the English one
            return self.id.format(**shown)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANG)

    # a message compares, and is searched, as its English text (callers written for strings keep working)
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Msg):
            return (self.id, self.params) == (other.id, other.params)
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __getattr__(self, name: str) -> Any:
        """A string method (``startswith``, ``removeprefix``...) works on the English text."""
        if not name.startswith("_") and hasattr(str, name):
            return getattr(str(self), name)
        raise AttributeError(name)

    def __bool__(self) -> bool:
        return bool(self.id)

    def __contains__(self, text: str) -> bool:
        return text in str(self)

    # joining messages: "{_1}{_2}..." is no catalog entry, it renders its parts in order
    def _parts(self) -> list[Any]:
        if self.id and self.id == "".join(f"{{_{i}}}" for i in range(1, len(self.params) + 1)) \
                and all(k == f"_{i}" for i, k in enumerate(self.params, 1)):
            return list(self.params.values())
        return [self]

    @classmethod
    def join(cls, *parts: Any) -> Msg:
        flat: list[Any] = []
        for p in parts:
            if isinstance(p, Msg):
                flat.extend(p._parts())
            elif p:
                flat.append(str(p))
        if len(flat) == 1 and isinstance(flat[0], Msg):
            return flat[0]
        return cls("".join(f"{{_{i}}}" for i in range(1, len(flat) + 1)),
                   {f"_{i}": p for i, p in enumerate(flat, 1)})

    @classmethod
    def joined(cls, sep: str, items: Any) -> Msg:
        """``sep.join(items)`` for messages (and strings): one message, its parts in order."""
        parts: list[Any] = []
        for i, item in enumerate(items):
            parts += [sep, item] if i else [item]
        return cls.join(*parts) if parts else Msg("")

    def __add__(self, other: Any) -> Msg:
        return Msg.join(self, other)

    def __radd__(self, other: Any) -> Msg:
        return Msg.join(other, self)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "params": params_json(self.params)}

    @classmethod
    def from_json(cls, d: Any) -> Msg:
        if isinstance(d, str):
            return literal(d)
        template = d.get("id", "")
        if isinstance(template, dict):  # a result written before Msg(message) was that message: its JSON nested
            template = cls.from_json(template)
        return cls(template, {k: _from_json(v) for k, v in (d.get("params") or {}).items()})


def params_json(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.to_json() if isinstance(v, Msg) else v for k, v in params.items()}


def _from_json(v: Any) -> Any:
    return Msg.from_json(v) if isinstance(v, dict) else v


def literal(text: str) -> Msg:
    """A text that is no catalog entry (a grader error's exception, a plain assert's message): shown as it is."""
    return Msg("{text}", {"text": text}) if text else Msg("")


class MessageError(Exception):
    """An error whose text is a message: ``message`` (rendered in a reader's language), ``reason`` and
    ``str()`` its English text (a log, a JSON reason).  A plain string is kept as it is (``literal``)."""

    def __init__(self, text: str | Msg) -> None:
        self.message = text if isinstance(text, Msg) else literal(text)
        self.reason = str(self.message)
        super().__init__(self.reason)


def message(value: Any) -> Msg:
    """``value`` as a message: a message stays one, a string is a msgid without parameters."""
    return value if isinstance(value, Msg) else Msg(str(value) if value is not None else "")


def render(value: Any, lang: str | None) -> str:
    return value.render(lang) if isinstance(value, Msg) else gettext_(str(value or ""), lang)


def localized(text: str, msgid: str | None, params: Mapping[str, Any] | None, lang: str | None) -> str:
    """A result's text in ``lang``: from its id and parameters when it has them, else ``text`` looked up as a
    msgid (a fixed title, or a message of a result written before messages had ids)."""
    if msgid:
        return Msg.from_json({"id": msgid, "params": params}).render(lang)
    return gettext_(text, lang)


def t(text: str, lang: str | None = DEFAULT_LANG, *, context: str | None = None, **fields: Any) -> str:
    """The fixed text ``text`` (its English, marked for extraction) in ``lang``, formatted with ``fields``."""
    out = pgettext_(context, text, lang) if context else gettext_(text, lang)
    if not fields:
        return out
    try:
        return out.format(**fields)
    except (KeyError, IndexError, ValueError):  # a broken translation: the English one
        return text.format(**fields)


def translator(lang: str | None):
    """``t`` bound to ``lang``: ``_("Score")``, ``_("{count} submissions", count=3)``."""
    lang = norm_lang(lang)

    def _(text: str, *, context: str | None = None, **fields: Any) -> str:
        return t(text, lang, context=context, **fields)
    return _


#: the words of statuses and levels, by their value in a result
WORDS: dict[str, dict[str, str]] = {
    "status": {"pass": N_("pass"), "fail": N_("fail"), "error": N_("error"), "skip": N_("skipped")},
    "pstatus": {"graded": N_("graded"), "missing": N_("missing"), "error": N_("error")},
    "level": {"must": N_("must"), "should": N_("should"), "extra": N_("extra")},
}


def word(kind: str, value: Any, lang: str | None) -> str:
    """A status (``kind`` "status", "pstatus") or level word in ``lang``; an unknown one as it is."""
    value = str(getattr(value, "value", value))
    found = WORDS.get(kind, {}).get(value)
    return gettext_(found, lang) if found else value


def pN_(context: str, message: str) -> str:
    """Mark ``message`` for translation in ``context`` (one English word with two meanings)."""
    return message


#: texts looked up with a context (``t(text, lang, context=...)``), marked here for extraction
CONTEXT_TEXTS = [pN_("diagram", "program")]


def extract_pack(fileobj, keywords, comment_tags, options):
    """Babel extractor for a pack file (``babel.cfg``): the pack's title and its programs' titles."""
    import tomllib
    text = fileobj.read().decode("utf-8")
    data, lines = tomllib.loads(text), text.splitlines()
    found = [data.get("pack", {}).get("title")] + [p.get("title") for p in data.get("programs", {}).values()]
    for title in found:
        if title:
            line = next((i for i, text in enumerate(lines, 1) if title in text), 0)
            yield line, "", title, ["a program's title in the pack (the subtitle of its report section)"]
