"""One submission's grading, in a batch thread or on a Dask worker: its files (shipped bytes written
out), its checks at a time, the first grading process and the retry of its failing checks.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..i18n import N_, Msg, literal
from ..results import Result, add_notice
from ..verdicts import RunStatus
from .processes import ProcessRegistry, _run_grader
from .retry import failing_checks, merge_retry


def _materialize(task: dict, tmp: str) -> str:
    """The path to grade: the task's own path, or its shipped bytes written out (Dask)."""
    if task.get("payload") is None:
        return task["path"]
    target = os.path.join(tmp, "shipped", task["payload_name"])
    os.makedirs(os.path.dirname(target), exist_ok=True)
    Path(target).write_bytes(task["payload"])
    return target


def _worker_jobs(task: dict) -> dict:
    """On a Dask worker, share its cores between the submissions it grades at once."""
    if task.get("jobs") is not None or task.get("max_jobs") is not None:
        return task
    from ..grading import default_jobs
    nthreads = 1
    try:
        from distributed import get_worker
        nthreads = max(1, int(get_worker().state.nthreads))
    except Exception:  # noqa: BLE001
        pass
    return {**task, "max_jobs": max(1, default_jobs() // nthreads)}


def grade_task(task: dict, registry: ProcessRegistry | None = None, progress=None, run_grader=_run_grader) -> dict:
    """Grade one submission (with the flaky retry).  Runs in a thread or on a Dask worker.

    ``progress`` (a callable, optional) gets the first grading's events as its checks finish
    (``grading.Options.progress``), then ``{"event": "retry", "checks": N}`` before the flaky retry.

    Returns ``{"result": <result dict>, "flaky": [...], "retry_note": str}``;
    never raises for a problem of the submission or of the grader.  ``run_grader``: where each
    grading process runs (``processes._run_grader``: here; the Docker container mode: in its container).
    """
    task = _worker_jobs(task)
    tmp = tempfile.mkdtemp(prefix="netgrade-batch-")
    try:
        path = _materialize(task, tmp)
        data = run_grader(path, task, [], tmp, "1", registry, progress)
        result = Result.from_dict(data)
        flaky: list[str] = []
        note = ""
        keys = failing_checks(result) if result.status == RunStatus.GRADED and task.get("retry_failed", True) else []
        if keys:
            if progress is not None:
                progress({"event": "retry", "checks": len(keys)})
            again = Result.from_dict(run_grader(path, task, keys, tmp, "2", registry))
            if again.status == RunStatus.GRADED:
                flaky = merge_retry(result, again)
            else:
                why = Msg.from_json({"id": again.message_id, "params": again.message_params}) \
                    if again.message_id else literal(again.message)
                notice = Msg(N_("the retry of failing checks could not run: {why}"), {"why": why})
                note = str(notice)
                add_notice(result, notice, result.lang or "en")
        result.submission = task["name"]
        return {"result": result.to_dict(), "flaky": flaky, "retried": keys, "retry_note": note}
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
