"""Storing one submission's outcome: result.json, report.html and, last, batch.json (the cache
marker).  A regrade that failed is written beside a good earlier result, never over it.  Also the
status line of a stored record (the progress lines, the gradebook).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .. import interrupts
from ..atomicfile import atomic_write
from ..results import Result
from ..verdicts import RunStatus
from .model import META, Entry, _read_json
from .pages import render_report


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_text(meta: dict) -> str:
    if meta.get("status") == RunStatus.GRADED:
        text = "graded"
        if meta.get("flaky"):
            text += "; flaky: " + " ".join(meta["flaky"])
    else:
        text = "error: " + _one_line(meta.get("message") or "grading failed")
    failed = meta.get("regrade_failed")
    if failed:
        text += f"; regrade failed, earlier result kept ({_one_line(failed.get('message', ''))})"
    if (meta.get("lms") or {}).get("late"):
        text += "; late"
    return text


def grader_errors(result: Result) -> list[str]:
    """The checks the grader could not grade (``error``), of programs that were found."""
    return [f"{p.id}/{c.id}" for p in result.programs if p.status != "missing" for c in p.checks
            if c.status == "error"]


def batch_status(result: Result) -> tuple[str, str]:
    """(status, message) of a submission in the batch: ``error`` also when some of its checks are
    grader errors (still so after the retry), so that it is graded again on the next run and never
    passes for a finished grade."""
    errors = grader_errors(result) if result.status == "graded" else []
    if not errors:
        return result.status, result.message
    first = next(c.message for p in result.programs for c in p.checks if f"{p.id}/{c.id}" == errors[0])
    listed = ", ".join(errors[:3]) + (f" and {len(errors) - 3} more" if len(errors) > 3 else "")
    return "error", f"grader error in {len(errors)} check(s) ({listed}): {first}"


def store(out: Path, entry: Entry, key: dict, outcome: dict, lang: str) -> dict:
    """Write one submission's outcome; returns its batch.json record."""
    folder = out / entry.name
    folder.mkdir(parents=True, exist_ok=True)
    result = Result.from_dict(outcome["result"])
    status, message = batch_status(result)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    old = _read_json(folder / META)
    good_before = (old is not None and old.get("status") == RunStatus.GRADED and (folder / "result.json").is_file())
    if status != RunStatus.GRADED and good_before:
        # Never replace a good grade with a failed regrade: keep it, record the failure beside it.
        result.write_json(folder / "failed-regrade.json")
        meta = dict(old)
        meta["regrade_failed"] = {"message": message, "at": now, "key": key}
        atomic_write(folder / META, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        return meta
    result.write_json(folder / "result.json")
    atomic_write(folder / "report.html", render_report(result, lang))
    (folder / "failed-regrade.json").unlink(missing_ok=True)
    interrupts.pause("storing")
    meta = {"name": entry.name, "source": entry.path, "key": key, "status": status,
            "message": message, "graded_at": now, "duration_s": result.duration_s,
            "flaky": outcome.get("flaky", []), "retried": outcome.get("retried", []),
            "retry_note": outcome.get("retry_note", ""), "regrade_failed": None, "lms": entry.lms,
            "worker": outcome.get("worker", "local")}
    atomic_write(folder / META, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")  # last: the cache marker
    return meta
