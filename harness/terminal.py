"""The result as a table on the terminal (rich), with untrusted text escaped."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .results import Result
from .text import printable

STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}


def _cell(text: str, limit: int = 400) -> Text:
    # Text() never interprets markup; printable() escapes control characters
    text = printable(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text)


def console() -> Console:
    """A console for our output: 140 columns when not a terminal (logs, CI, pipes)."""
    import sys
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def render(result: Result, out: Console | None = None, verbose: bool = False) -> None:
    console_ = out or console()
    table = Table(title=f"netgrade: {printable(result.submission)} ({result.pack}, {result.runner} runner)",
                  show_lines=False, expand=False)
    table.add_column("program", no_wrap=True)
    table.add_column("check", max_width=48)
    table.add_column("level", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("message")
    for p in result.programs:
        if p.status == "missing":
            table.add_row(_cell(p.id), _cell("(program file)"), "", Text("missing", style="red"),
                          f"0/{p.max_score:g}", _cell(p.message))
            if not verbose:
                continue
        for c in p.checks:
            if p.status == "missing" and not verbose:
                continue
            table.add_row(_cell(p.id), _cell(c.title), c.level, Text(c.status, style=STYLE.get(c.status, "")),
                          f"{c.score:g}/{c.max_score:g}", _cell(c.message if c.status != "pass" else ""))
        table.add_section()
    console_.print(table)
    for notice in result.notices:
        console_.print(Text("note: " + printable(notice), style="yellow"))
    if result.status != "graded":
        console_.print(Text("grading failed: " + printable(result.message), style="bold magenta"))
    verdict = "all must and should checks passed" if result.all_passed() else "some checks did not pass"
    console_.print(Text(f"score {result.score:g}/{result.max_score:g} in {result.duration_s:.1f} s: {verdict}",
                       style="bold " + ("green" if result.all_passed() else "red")))
