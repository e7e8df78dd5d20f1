"""Fixed texts of every report, in English and Chinese.

Each text a person reads in a report or in the terminal table is looked up
here by key, so a course can grade in either language (``--lang en|zh``,
default: the pack's ``lang``).  Check titles have Chinese versions keyed by
"program/check"; a title without one stays in English.  Check *messages* are
produced at run time (they quote what was seen) and are never translated.

The catalogs are Python dicts (``harness/outputs/catalog.py``), so they need
no package data and cannot go missing from an installed wheel.
"""
from __future__ import annotations

import re

LANGS = ("en", "zh")
DEFAULT_LANG = "en"


def _catalogs():
    from .outputs import catalog
    return catalog


def norm_lang(lang: str | None) -> str:
    """``zh-CN``, ``zh_TW``, ``ZH`` -> ``zh``; anything unknown -> English."""
    if not lang:
        return DEFAULT_LANG
    base = lang.replace("_", "-").split("-")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = None, **fields) -> str:
    """The text for ``key`` in ``lang`` (falling back to English), formatted with ``fields``."""
    cat = _catalogs()
    lang = norm_lang(lang)
    text = cat.TEXTS.get(lang, {}).get(key)
    if text is None:
        text = cat.TEXTS[DEFAULT_LANG].get(key)
    if text is None:  # a missing key is a bug, but a report must still render
        text = key
    return text.format(**fields) if fields else text


def check_title(program: str, check_id: str, title: str, lang: str | None = None) -> str:
    """The title of check ``program/check_id`` in ``lang``; ``title`` (the suite's) otherwise."""
    if norm_lang(lang) == "en":
        return title
    cat = _catalogs()
    lang = norm_lang(lang)
    found = cat.TITLES.get(lang, {}).get(f"{program}/{check_id}")
    if found is not None:
        return found
    for pattern, replacement in cat.TITLE_PATTERNS.get(lang, []):
        new, n = re.subn(pattern, replacement, title)
        if n:
            return new
    return title


def translator(lang: str | None):
    """A one-argument ``t`` bound to ``lang`` (handy in templates)."""
    lang = norm_lang(lang)

    def _t(key: str, **fields) -> str:
        return t(key, lang, **fields)
    return _t
