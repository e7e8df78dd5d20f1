"""A Markdown summary (GitHub job summary, merge-request notes, chat).

GitHub renders HTML inside Markdown, so student text is HTML-escaped and the
characters Markdown gives meaning to are backslash-escaped: a program that
prints ``<script>`` or ``| **bold** |`` shows exactly that, as text.
"""
from __future__ import annotations

import os
import re
from html import escape
from pathlib import Path

from ..i18n import N_, t, word
from ..results import Result, notices_in, text_of
from ..verdicts import RunStatus, Status
from . import write_text
from .common import one_line

#: texts this module shows from inside f-strings (where Babel does not look), marked here
_MARKED = (N_("netgrade: {score:g}/{max:g}"), N_("{seconds:.2f} s"), N_("Grading failed: {message}"), N_("program"), N_("status"), N_("points"), N_("check"), N_("level"), N_("message"), N_("Hint"))


CELL_TEXT = 300
# Inside a table cell only inline syntax matters (a cell never starts a line).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
#: the icon of each check status (a test sees that every Status has one)
ICON = {Status.PASS: "✅", Status.FAIL: "❌", Status.ERROR: "💥", Status.SKIP: "⏭️"}


def md(text: str | None, limit: int = CELL_TEXT) -> str:
    """One table cell of untrusted text: one line, no HTML, no Markdown."""
    text = one_line(text or "", limit)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return escape(text, quote=False)  # & < > as entities: no HTML reaches the page


def render(result: Result, lang: str | None = "en") -> str:
    out = [f"## {md(t('netgrade: {score:g}/{max:g}', lang, score=result.score, max=result.max_score))}", ""]
    verdict = t("all must and should checks passed", lang) if result.all_passed() else t("some checks did not pass", lang)
    out.append(f"**{md(verdict)}** · {md(result.submission)} · {md(result.pack)} · "
               f"{md(t('{seconds:.2f} s', lang, seconds=result.duration_s))}")
    out.append("")
    if result.status != RunStatus.GRADED:
        out += [f"> {md(t('Grading failed: {message}', lang, message=text_of(result, 'message', lang)), 1000)}", ""]
    for n in notices_in(result, lang):
        out += [f"> {md(n, 1000)}", ""]
    if result.programs:
        out.append(f"| {t('program', lang)} | {t('status', lang)} | {t('points', lang)} |")
        out.append("|---|---|---:|")
        for p in result.programs:
            icons = "".join(ICON[c.status] for c in p.checks)
            out.append(f"| {md(p.id)} | {md(word('pstatus', p.status, lang))} {icons} | {p.score:g}/{p.max_score:g} |")
        out.append("")
    for p in result.programs:
        out.append(f"### {md(p.id)} — {p.score:g}/{p.max_score:g}")
        out.append("")
        if text_of(p, 'message', lang):
            out += [f"> {md(text_of(p, 'message', lang), 1000)}", ""]
        for n in notices_in(p, lang):
            out += [f"> {md(n, 1000)}", ""]
        if not p.checks:
            continue
        out.append(f"| | {t('check', lang)} | {t('level', lang)} | {t('status', lang)} | "
                   f"{t('points', lang)} | {t('message', lang)} |")
        out.append("|---|---|---|---|---:|---|")
        for c in p.checks:
            msg = c.text('message', lang) if c.status != Status.PASS else ""
            if c.status.went_wrong and c.text('hint', lang):
                msg = f"{msg} — {t('Hint', lang)}: {c.text('hint', lang)}" + (f" ({c.sheet})" if c.sheet else "")
            out.append(f"| {ICON[c.status]} | {md(c.text('title', lang))} "
                       f"`{c.id}` | {md(word('level', c.level, lang))} | {md(word('status', c.status, lang))} | "
                       f"{c.score:g}/{c.max_score:g} | {md(msg)} |")
        out.append("")
    return "\n".join(out) + "\n"


def write(result: Result, path: str | Path, lang: str | None = "en") -> None:
    write_text(path, render(result, lang))


def write_step_summary(result: Result, lang: str | None = "en") -> bool:
    """Append the summary to GitHub Actions' job summary when running there."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    write_text(target, render(result, lang), append=True)
    return True
