"""The result as a table on the terminal (rich), with untrusted text escaped."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .i18n import translator, word
from .results import Result, notices_in, text_of
from .text import printable
from .verdicts import ProgramStatus, RunStatus, Status

#: the colour of each check status (a test sees that every Status has one)
STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "magenta", Status.SKIP: "yellow"}


def _cell(text: str, limit: int = 400) -> Text:
    # Text() never interprets markup; printable() escapes control characters
    text = printable(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text)


def console(file=None) -> Console:
    """A console for our output (standard output, or the text stream ``file``): 140 columns when not a
    terminal (logs, CI, pipes)."""
    import sys
    return Console(file=file, highlight=False, width=None if (file or sys.stdout).isatty() else 140)


def render(result: Result, out: Console | None = None, verbose: bool = False, lang: str | None = "en") -> None:
    t = translator(lang)
    console_ = out or console()
    # a Text title: rich would read "[...]" in a submission's name as markup
    table = Table(title=Text(t("netgrade: {submission} ({pack}, {runner} runner)", submission=printable(result.submission), pack=result.pack,
                               runner=result.runner), style="italic"),
                  show_lines=False, expand=False)
    table.add_column(t("program"), no_wrap=True)
    table.add_column(t("check"), max_width=48)
    table.add_column(t("level"), no_wrap=True)
    table.add_column(t("status"), no_wrap=True)
    table.add_column(t("points"), justify="right", no_wrap=True)
    table.add_column(t("message"))
    for p in result.programs:
        if p.status == ProgramStatus.MISSING:
            table.add_row(_cell(p.id), _cell(t("(program file)")), "", Text(t("missing"), style="red"),
                          f"0/{p.max_score:g}", _cell(text_of(p, 'message', lang)))
            if not verbose:
                continue
        for c in p.checks:
            if p.status == ProgramStatus.MISSING and not verbose:
                continue
            table.add_row(_cell(p.id), _cell(c.text('title', lang)), word("level", c.level, lang),
                          Text(word("status", c.status, lang), style=STYLE[c.status]),
                          f"{c.score:g}/{c.max_score:g}", _cell(c.text('message', lang) if c.status != Status.PASS else ""))
        table.add_section()
    console_.print(table)
    for notice in notices_in(result, lang):
        console_.print(Text(t("note: {notice}", notice=printable(notice)), style="yellow"))
    if result.status != RunStatus.GRADED:
        console_.print(Text(t("grading failed: {message}", message=printable(text_of(result, 'message', lang))), style="bold magenta"))
    verdict = t("all must and should checks passed") if result.all_passed() else t("some checks did not pass")
    console_.print(Text(t("score {score:g}/{max:g} in {seconds:.1f} s: {verdict}", score=result.score, max=result.max_score, seconds=result.duration_s,
                          verdict=verdict),
                        style="bold " + ("green" if result.all_passed() else "red")))
