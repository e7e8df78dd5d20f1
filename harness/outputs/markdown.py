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

from ..i18n import check_title, t
from ..results import Result
from ..verdicts import RunStatus, Status
from . import write_text
from .common import one_line

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
    out = [f"## {md(t('markdown.heading', lang, score=result.score, max=result.max_score))}", ""]
    verdict = t("report.verdict.pass" if result.all_passed() else "report.verdict.fail", lang)
    out.append(f"**{md(verdict)}** · {md(result.submission)} · {md(result.pack)} · "
               f"{md(t('check.duration', lang, seconds=result.duration_s))}")
    out.append("")
    if result.status != RunStatus.GRADED:
        out += [f"> {md(t('report.grading_failed', lang, message=result.message), 1000)}", ""]
    for n in result.notices:
        out += [f"> {md(n, 1000)}", ""]
    if result.programs:
        out.append(f"| {t('col.program', lang)} | {t('col.status', lang)} | {t('col.points', lang)} |")
        out.append("|---|---|---:|")
        for p in result.programs:
            icons = "".join(ICON[c.status] for c in p.checks)
            out.append(f"| {md(p.id)} | {md(t('pstatus.' + p.status, lang))} {icons} | {p.score:g}/{p.max_score:g} |")
        out.append("")
    for p in result.programs:
        out.append(f"### {md(p.id)} — {p.score:g}/{p.max_score:g}")
        out.append("")
        if p.message:
            out += [f"> {md(p.message, 1000)}", ""]
        for n in p.notices:
            out += [f"> {md(n, 1000)}", ""]
        if not p.checks:
            continue
        out.append(f"| | {t('col.check', lang)} | {t('col.level', lang)} | {t('col.status', lang)} | "
                   f"{t('col.points', lang)} | {t('col.message', lang)} |")
        out.append("|---|---|---|---|---:|---|")
        for c in p.checks:
            msg = c.message if c.status != Status.PASS else ""
            if c.status.went_wrong and c.hint:
                msg = f"{msg} — {t('check.hint', lang)}: {c.hint}" + (f" ({c.sheet})" if c.sheet else "")
            out.append(f"| {ICON[c.status]} | {md(check_title(p.id, c.id, c.title, lang))} "
                       f"`{c.id}` | {md(t('level.' + c.level, lang))} | {md(t('status.' + c.status, lang))} | "
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
