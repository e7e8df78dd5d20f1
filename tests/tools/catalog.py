"""netgrade's message catalog: extract the marked texts, merge them into the translations, check them.

    python tests/tools/catalog.py extract   # harness/locale/netgrade.pot from the code and templates
    python tests/tools/catalog.py update    # extract, then merge the .pot into zh_CN's netgrade.po
    python tests/tools/catalog.py check     # the .pot is current and zh_CN has no untranslated or fuzzy entry

The keywords are the functions that take a text to translate (harness/i18n.py); babel.cfg says which files
are read how.  tests/test_i18n.py runs `check`.
"""
from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

logging.getLogger("babel").setLevel(logging.ERROR)  # its warnings on f-strings it skips (no message of ours)

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "harness" / "locale"
POT = LOCALE / "netgrade.pot"
LANGS = ["zh_CN"]
#: function(argument...): the text is the first argument unless said otherwise; pN_ has a context first
KEYWORDS = ["N_", "_", "t", "tr", "fail", "CheckFailure", "check:3", "pN_:1c,2"]


def _babel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(out: Path = POT) -> None:
    args = ["extract", "-F", str(ROOT / "babel.cfg"), "--no-default-keywords", "--sort-by-file",
            "--omit-header", "--no-wrap", "--project", "netgrade", "-o", str(out)]
    for k in KEYWORDS:
        args += ["-k", k]
    cwd = Path.cwd()
    try:  # the paths in the .pot are relative to the repository
        import os
        os.chdir(ROOT)
        _babel(*args, ".")
    finally:
        os.chdir(cwd)


def update() -> None:
    extract()
    for lang in LANGS:
        _babel("update", "-i", str(POT), "-d", str(LOCALE), "-D", "netgrade", "-l", lang, "--no-wrap",
               "--omit-header", "--ignore-obsolete", "--no-fuzzy-matching")


def _fields(text: str) -> set | None:
    from netgrade.i18n import fields_of
    try:
        return fields_of(text)
    except ValueError:
        return None  # not a str.format template (a %-style one of the templates, or literal braces)


def _ids(path: Path) -> set:
    with open(path, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def problems() -> list[str]:
    """What keeps the catalog from being complete: a stale .pot, untranslated or fuzzy entries."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh.pot"
        extract(fresh)
        new, old = _ids(fresh), _ids(POT)
        for m in sorted(new - old, key=str)[:20]:
            out.append(f"netgrade.pot is not current (run tests/tools/catalog.py update): new text {m!r}")
        for m in sorted(old - new, key=str)[:20]:
            out.append(f"netgrade.pot is not current (run tests/tools/catalog.py update): text gone {m!r}")
    for lang in LANGS:
        po = LOCALE / lang / "LC_MESSAGES" / "netgrade.po"
        with open(po, "rb") as f:
            catalog = read_po(f)
        ids = {m.id for m in catalog if m.id}
        for m in sorted(_ids(POT) - ids, key=str):
            out.append(f"{lang}: no entry for {m!r}")
        for m in catalog:
            if not m.id:
                continue
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            if m.fuzzy:
                out.append(f"{lang}: fuzzy: {m.id!r}")
            elif not all(strings):
                out.append(f"{lang}: untranslated: {m.id!r}")
        for m, errors in catalog.check():
            out += [f"{lang}: {m.id!r}: {e}" for e in errors]
        for m in catalog:  # a translation names the same str.format fields as its msgid
            if m.id and m.string and "{" in m.id + m.string and _fields(m.id) != _fields(m.string):
                out.append(f"{lang}: the fields of {m.string!r} are not those of {m.id!r}")
    return out


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "extract":
        extract()
    elif cmd == "update":
        update()
    else:
        found = problems()
        print("\n".join(found) or "catalog complete", file=sys.stderr if found else sys.stdout)
        sys.exit(1 if found else 0)
