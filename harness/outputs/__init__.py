"""Reports rendered from the one result model (:mod:`netgrade.results`).

Each module has ``render(result, lang) -> str`` and ``write(result, path, lang)``:
``html`` (one self-contained page), ``junit`` (JUnit XML for CI viewers),
``gradescope`` (results.json of the Gradescope autograder spec) and
``markdown`` (a summary, e.g. for GitHub's job summary).  None of them grades
anything or changes the result: they all read the same statuses and scores.
"""
from __future__ import annotations

from pathlib import Path

from ..atomicfile import atomic_write


def write_text(path: str | Path, text: str, append: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (a reader never sees half a report)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if append:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
        return
    atomic_write(path, text, mode=0o644, prefix=".report-")


def write_all(result, lang: str | None = "en", *, html: str | None = None, junit: str | None = None,
              gradescope: str | None = None, markdown: str | None = None, step_summary: bool = True) -> list[str]:
    """Write every report asked for; returns a line per report that could not be written.

    Under GitHub Actions (``GITHUB_STEP_SUMMARY`` set) the Markdown summary is
    also appended to the job summary.  A report that fails to render or write
    does not stop the others (the JSON result, written first, stays the record).
    """
    from . import gradescope as gs_mod
    from . import html as html_mod
    from . import junit as junit_mod
    from . import markdown as md_mod

    problems = []
    for path, mod, what in ((html, html_mod, "HTML"), (junit, junit_mod, "JUnit"),
                            (gradescope, gs_mod, "Gradescope"), (markdown, md_mod, "Markdown")):
        if not path:
            continue
        try:
            mod.write(result, path, lang)
        except Exception as exc:  # noqa: BLE001 - report it, keep the other outputs
            problems.append(f"{what} report {path}: {type(exc).__name__}: {exc}")
    if step_summary:
        try:
            md_mod.write_step_summary(result, lang)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"GitHub step summary: {type(exc).__name__}: {exc}")
    return problems
