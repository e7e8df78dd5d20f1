"""The one place the service meets the batch: grading one submission through the batch's executors.

Only ``netgrade.batch``'s public entry points are used (``grade_task``,
``remote_grade``, ``ProcessRegistry``, ``render_report``), so the batch can be
reorganised behind them.  Locally a submission is graded as ``netgrade
batch`` grades one: a fresh ``python -m netgrade.batch grade`` process (a
crash or hang there costs that grading only) with the flaky retry; on Dask,
the same task goes to the cluster as ``netgrade batch --dask`` sends it.
"""
from __future__ import annotations

import os

from .. import batch


def new_registry():
    """The grading processes of one worker, so a stop can end them (SIGINT, then SIGKILL)."""
    return batch.ProcessRegistry()


def stop_all(registry) -> None:
    registry.interrupt_all()


Interrupted = batch.Interrupted


def pick_runner(requested: str) -> tuple[str, str]:
    """(runner, why): ``auto`` is docker when an engine answers and the grading image is there, else local."""
    if requested != "auto":
        return requested, f"runner {requested} as configured"
    if os.geteuid() != 0:
        return "local", "the docker runner needs root: the local sandbox"
    try:
        from ..docker import engine, image
        client = engine.connect(timeout=5)
        if image.have(client, image.grader_tag()):
            return "docker", "a Docker engine answers and has the grading image"
        return "local", "the Docker engine has no grading image (netgrade image build): the local sandbox"
    except Exception as exc:  # noqa: BLE001 - no engine: the local sandbox
        return "local", f"no Docker engine ({type(exc).__name__}): the local sandbox"


def task_for(name: str, path: str | None, payload: bytes | None, payload_name: str | None, pack_file: str | None,
             pack_text: str | None, programs: list[str], runner: str, timeout: float, jobs: int | None,
             worker_argv: list[str] | None = None) -> dict:
    task = {"name": name, "path": path, "pack_file": pack_file, "pack_name": name, "programs": programs,
            "runner": runner, "timeout": timeout, "retry_failed": True, "max_jobs": jobs}
    if payload is not None:
        task.update(payload=payload, payload_name=payload_name, pack_text=pack_text)
    if worker_argv:
        task["worker_argv"] = worker_argv
    return task


def grade_local(task: dict, registry, progress=None) -> dict:
    """``{"result": <netgrade.result/1 dict>, ...}``; raises ``Interrupted`` when the registry was stopped.

    ``progress`` gets the grading's events as its checks finish (``batch.grade_task``).
    """
    return batch.grade_task(task, registry, progress)


def grade_dask(client, task: dict, should_stop) -> dict:
    """The same task on a Dask cluster (``netgrade batch --dask``'s ``remote_grade``).

    A worker that dies mid-grading is the scheduler's to handle: the task runs
    again on another worker.  Raises ``Interrupted`` when ``should_stop()``
    turns true first (the task is cancelled).
    """
    fut = client.submit(batch.remote_grade, task, key=f"netgrade-serve-{os.urandom(8).hex()}", pure=False,
                        retries=2)
    from distributed import TimeoutError as DaskTimeout
    while True:
        if should_stop():
            fut.cancel()
            raise Interrupted()
        try:
            return fut.result(timeout=1)
        except (DaskTimeout, TimeoutError):
            continue


def render_report(result_dict: dict, lang: str) -> str:
    from ..results import Result
    return batch.render_report(Result.from_dict(result_dict), lang)


def jobs_for(workers: int) -> int:
    """Checks at a time within one grading, so that ``workers`` gradings at once fit the machine."""
    return batch.per_submission_jobs(workers)


def error_result(name: str, runner: str, message: str) -> dict:
    from ..grading import error_result as make
    return make(name, "?", runner, message).to_dict()
