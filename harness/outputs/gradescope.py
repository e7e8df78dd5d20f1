"""Gradescope's ``results.json`` (autograder specification).

One test per check: ``name``, ``score``, ``max_score``, ``status``
(``passed``/``failed``), ``output`` (the message, hint and sheet section)
and ``visibility``.  The top-level ``score`` is the result's score, so the
tests' scores add up to it.  When grading itself failed, the file still
exists, with score 0 and the reason in ``output`` (never a silent zero).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..i18n import N_, t, word
from ..results import Result, notices_in, text_of
from ..verdicts import ProgramStatus, RunStatus, Status
from . import write_text
from .common import one_line, safe

#: texts this module shows from inside f-strings (where Babel does not look), marked here
_MARKED = (N_("Hint"), N_("Sheet"))


OUTPUT_TEXT = 4000


def _output(text: str) -> str:
    text = safe(text)
    return text if len(text) <= OUTPUT_TEXT else text[:OUTPUT_TEXT] + f"… (+{len(text) - OUTPUT_TEXT})"


def results(result: Result, lang: str | None = "en", visibility: str = "visible") -> dict[str, Any]:
    tests = []
    for p in result.programs:
        if p.status == ProgramStatus.MISSING and not p.checks:
            tests.append({"name": t("{program}: program file missing", lang, program=p.id), "score": 0.0,
                          "max_score": float(p.max_score), "status": "failed",
                          "output": _output(text_of(p, 'message', lang) or t("program file missing", lang)), "visibility": visibility})
        for c in p.checks:
            lines = [word("status", c.status, lang) + f" ({word('level', c.level, lang)})"]
            if p.status == ProgramStatus.MISSING:
                lines.append(text_of(p, 'message', lang) or t("program file missing", lang))
            if c.text('message', lang):
                lines.append(c.text('message', lang))
            if c.status != Status.PASS and c.text('hint', lang):
                lines.append(f"{t('Hint', lang)}: {c.text('hint', lang)}")
            if c.sheet:
                lines.append(f"{t('Sheet', lang)}: {c.sheet}")
            tests.append({
                "name": f"{p.id}: {one_line(c.text('title', lang), 200)} [{c.id}]",
                "score": float(c.score),
                "max_score": float(c.max_score),
                "status": "passed" if c.status == Status.PASS else "failed",
                "output": _output("\n".join(lines)),
                "visibility": visibility,
                "tags": [p.id, c.level],
            })
    out: dict[str, Any] = {
        "score": float(result.score) if result.status == RunStatus.GRADED else 0.0,
        "execution_time": round(float(result.duration_s), 3),
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    notes = [safe(n) for n in notices_in(result, lang)]
    if result.status != RunStatus.GRADED:
        notes.insert(0, t("The autograder failed: {message}", lang, message=safe(text_of(result, 'message', lang))))
    if notes:
        out["output"] = "\n".join(notes)
    return out


def render(result: Result, lang: str | None = "en") -> str:
    return json.dumps(results(result, lang), ensure_ascii=False, indent=2) + "\n"


def write(result: Result, path: str | Path, lang: str | None = "en") -> None:
    write_text(path, render(result, lang))
