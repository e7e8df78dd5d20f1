"""A batch's HTML pages: each submission's report.html and the class's index.html, rendered by
netgrade.outputs.html, or plain fallback pages when that is missing or fails (a renderer bug never
loses a grade).
"""
from __future__ import annotations

import html
from collections.abc import Callable

from ..results import Result
from ..verdicts import RunStatus, Status


def _renderers() -> tuple[Callable | None, Callable | None]:
    try:
        from ..outputs.html import render, render_class  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001
        return None, None
    return render, render_class


def _placeholder_report(result: Result) -> str:
    esc = html.escape
    rows = []
    for p in result.programs:
        for c in p.checks:
            flag = " (flaky)" if c.flaky else ""
            rows.append(f"<tr><td>{esc(p.id)}</td><td>{esc(c.title)}</td><td>{esc(c.level)}</td>"
                        f"<td>{esc(c.status)}{flag}</td><td>{c.score:g}/{c.max_score:g}</td>"
                        f"<td>{esc(c.message if c.status != Status.PASS or c.flaky else '')}</td></tr>")
    note = f"<p>grading failed: {esc(result.message)}</p>" if result.status != RunStatus.GRADED else ""
    return ("<!doctype html><meta charset=utf-8><title>netgrade: " + esc(result.submission) + "</title>"
            f"<h1>{esc(result.submission)}: {result.score:g}/{result.max_score:g}</h1>{note}"
            "<table><tr><th>program<th>check<th>level<th>status<th>points<th>message</tr>"
            + "".join(rows) + "</table>\n")


def _placeholder_class(results: list[Result], links: dict[str, str]) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td><a href=\"{esc(links.get(r.submission, ''))}\">{esc(r.submission)}</a></td>"
        f"<td>{r.score:g}/{r.max_score:g}</td><td>{esc(r.status)}</td></tr>" for r in results)
    return ("<!doctype html><meta charset=utf-8><title>netgrade: class report</title><h1>Class report</h1>"
            "<table><tr><th>submission<th>score<th>status</tr>" + rows + "</table>\n")


def render_report(result: Result, lang: str) -> str:
    render, _ = _renderers()
    if render is not None:
        try:
            return render(result, lang)
        except Exception as exc:  # a renderer bug must not lose the grade
            return _placeholder_report(result) + f"<!-- renderer failed: {html.escape(repr(exc))} -->\n"
    return _placeholder_report(result)


def render_index(results: list[Result], links: dict[str, str], lang: str, pairs: list[dict] | None = None) -> str:
    _, render_class = _renderers()
    if render_class is not None:
        try:
            return render_class(results, links, lang, pairs)
        except Exception as exc:  # noqa: BLE001
            return _placeholder_class(results, links) + f"<!-- renderer failed: {html.escape(repr(exc))} -->\n"
    return _placeholder_class(results, links)
