"""Running a batch: what needs grading (the cache), the submissions graded a few at a time in threads
(or on Dask: netgrade.batch.remote), each outcome stored as it comes, then the class's files.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from .. import __version__, interrupts
from ..i18n import N_, Msg, norm_lang, t
from ..runner import DOCKER
from ..verdicts import RunStatus
from .cache import cache_key, cached_meta, pack_hash, submission_digest
from .discovery import discover
from .gradebook import write_aggregates
from .model import BatchError, BatchOptions, Entry, Summary
from .pages import _renderers
from .processes import Interrupted, ProcessRegistry
from .progress import _Progress
from .remote import _run_dask
from .store import _status_text, store
from .task import grade_task


def default_jobs() -> int:
    return os.cpu_count() or 1


def per_submission_jobs(parallel: int) -> int:
    """Checks at a time within one submission, so that all of them together fit the machine.

    A lone submission gets grading's own default (2 per core, at most 8);
    N at a time share it.
    """
    from ..grading import default_jobs as checks_default
    return max(1, checks_default() // max(1, parallel))


def run_batch(directory: str, opts: BatchOptions,
              grade_fn: Callable[[dict, ProcessRegistry | None], dict] = grade_task) -> Summary:
    """Grade every submission in ``directory`` into ``opts.out``.  Raises BatchError for bad input."""
    from ..grading import BadInput, load_pack
    started = time.monotonic()
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        pack = load_pack(opts.pack_file)
    except BadInput as exc:
        raise BatchError(str(exc)) from None
    unknown = [p for p in opts.programs if p not in pack.programs]
    if unknown:
        raise BatchError(f"unknown program(s): {', '.join(unknown)} (see `netgrade list`)")
    program_ids = list(opts.programs) or list(pack.programs)
    pack_digest = pack_hash(pack.to_dict())
    summary = Summary(lang=norm_lang(pack.lang))
    summary.html_renderer = "netgrade.outputs.html" if _renderers()[0] is not None else "placeholder"

    lms_info: dict[str, dict] = {}
    if opts.layout:
        from ..lms import LayoutError, split_export
        staging = out / ".submissions"
        known = {n.lower() for prog in pack.programs.values() for n in prog.names}
        try:
            split = split_export(directory, opts.layout, staging, known, exclude=(out,))
        except LayoutError as exc:
            raise BatchError(str(exc)) from None
        summary.skipped += split.skipped
        lms_info = {s.name: s.to_dict() for s in split.students}
        directory = str(staging)
    entries, skipped = discover(directory, exclude=(out,))
    summary.skipped += skipped
    for e in entries:
        e.lms = lms_info.get(e.name)
    pack_text = Path(opts.pack_file).read_text("utf-8") if opts.pack_file else None

    # decide what needs grading
    interrupts.pause("discovered")
    todo: list[tuple[Entry, dict]] = []
    keys: dict[str, dict] = {}
    from ..grading import error_result
    from ..submission import SubmissionError
    for e in entries:
        try:
            digest = submission_digest(e.path)
        except SubmissionError as exc:
            key = cache_key("unreadable", pack_digest, opts.programs)
            meta = store(out, e, key, {"result": error_result(e.name, pack.name, opts.runner, str(exc)).to_dict()},
                         pack.lang)
            (summary.regrade_failed if meta.get("regrade_failed") else summary.errors).append(e.name)
            continue
        key = keys[e.name] = cache_key(digest, pack_digest, opts.programs)
        if not opts.force and cached_meta(out, e, key) is not None:
            summary.cached.append(e.name)
        else:
            todo.append((e, key))

    box = None
    if opts.runner == DOCKER and not opts.dask and todo and grade_fn is grade_task:
        box = _container_mode(opts)  # None: the direct mode, each grading process enters its containers
        if box is not None:
            grade_fn = functools.partial(grade_task, run_grader=box.run_grader)
    try:
        return _grade(out, opts, pack, entries, todo, summary, pack_text, program_ids, grade_fn, box, started)
    finally:
        if box is not None:
            box.close()


def _container_mode(opts: BatchOptions):
    """The started container of the Docker runner's container mode, or None where the direct mode grades
    (netgrade.docker.incontainer chooses, as for ``netgrade check``)."""
    from ..docker import engine, incontainer
    from .container import batch_container
    forced = None if opts.docker_mode == "auto" else opts.docker_mode
    try:
        client = engine.connect()
    except engine.EngineError as exc:
        if os.geteuid() != 0 or forced == "container":
            raise BatchError(str(exc)) from None
        return None  # as root: the direct mode's grading processes say it, as before
    mode, why = incontainer.choose(client, forced)
    if mode == "direct":
        return None

    def log(text: str) -> None:
        if opts.progress:
            print(f"netgrade: {text}", file=sys.stderr, flush=True)
    log(f"runner {incontainer.LABEL}: {why}")
    try:
        return batch_container(client, opts.pack_file, opts.timeout, log)
    except Exception as exc:  # noqa: BLE001 - the engine's (or the image's) failure: nothing can be graded
        raise BatchError(f"{incontainer.LABEL}: {engine.short_error(exc)}") from None


def _grade(out, opts, pack, entries, todo, summary, pack_text, program_ids, grade_fn, box, started) -> Summary:
    """Grade ``todo`` (a few at a time, or on Dask), storing each outcome as it comes; then the class's files."""
    from ..grading import error_result
    parallel = opts.jobs or default_jobs()
    base_task = {"pack_file": str(Path(opts.pack_file).resolve()) if opts.pack_file else None,
                 "pack_name": pack.name, "programs": list(opts.programs), "runner": opts.runner,
                 "timeout": opts.timeout, "retry_failed": opts.retry_failed,
                 "jobs": opts.sub_jobs, "max_jobs": None if opts.dask else per_submission_jobs(parallel)}
    if box is not None:
        from ..docker.incontainer import LABEL
        base_task["runner"] = LABEL  # the error results a grading leaves name the mode

    def finish(entry: Entry, key: dict, outcome: dict, progress: _Progress) -> None:
        theirs = outcome["result"].get("netgrade_version")
        if theirs and theirs != __version__:
            # a Dask worker with another netgrade would grade by other rules under this version's cache key
            outcome = {"result": error_result(entry.name, pack.name, opts.runner,
                                              Msg(N_("graded by netgrade {theirs}, but this batch runs {ours}: install"
                                                     " the same version on every worker"),
                                                  {"theirs": str(theirs), "ours": __version__})).to_dict()}
        meta = store(out, entry, key, outcome, pack.lang)
        if meta.get("regrade_failed") and meta["regrade_failed"].get("key") == key:
            summary.regrade_failed.append(entry.name)
        elif meta["status"] == RunStatus.GRADED:
            summary.graded.append(entry.name)
        else:
            summary.errors.append(entry.name)
        if meta.get("flaky"):
            summary.flaky[entry.name] = list(meta["flaky"])
        r = outcome["result"]
        progress.line(f"{entry.name}: {r.get('score', 0):g}/{r.get('max_score', 0):g} {_status_text(meta)}")
        progress.advance()
        interrupts.pause("stored")

    # the bar counts only what is graded now, so its rate and ETA are not skewed by cache hits
    with _Progress(len(todo), opts.progress) as progress:
        if summary.cached:
            progress.line(t("{count} submission(s) unchanged since they were graded: not graded again", summary.lang,
                            count=len(summary.cached)))
        try:
            if opts.dask:
                _run_dask(opts.dask, todo, base_task, pack_text, finish, progress)
            else:
                _run_local(todo, base_task, parallel, grade_fn, finish, progress,
                           stopper=box.close if box is not None else None)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            from ..copycheck import batch_similarity
            batch_similarity(out, entries, program_ids, pack, enabled=opts.similarity and not summary.interrupted)
            write_aggregates(out, entries, program_ids, pack.lang)
    summary.duration_s = round(time.monotonic() - started, 3)
    return summary


def _run_local(todo, base_task, parallel, grade_fn, finish, progress, stopper=None) -> None:
    registry = ProcessRegistry()
    if stopper is not None:
        registry.add_stopper(stopper)
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="netgrade-batch")
    futures = {}
    handled: set = set()  # futures whose outcome finish() took (or that were interrupted)
    try:
        for entry, key in todo:
            task = {**base_task, "name": entry.name, "path": entry.path}
            futures[pool.submit(grade_fn, task, registry)] = (entry, key)
        while len(handled) < len(futures):
            done, _ = wait(set(futures) - handled, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                handled.add(fut)
                entry, key = futures[fut]
                try:
                    outcome = fut.result()
                except Interrupted:
                    continue
                except Exception as exc:  # a bug in the batch code for this one: record it, go on
                    from ..grading import error_result
                    outcome = {"result": error_result(entry.name, base_task["pack_name"], base_task["runner"],
                                                      Msg(N_("batch error: {error}"),
                                                          {"error": f"{type(exc).__name__}: {exc}"})).to_dict()}
                finish(entry, key, outcome, progress)
    except KeyboardInterrupt:
        progress.line("interrupted: stopping the grading processes; finished results are kept")
        registry.interrupt_all()
        pool.shutdown(wait=True, cancel_futures=True)
        # a submission whose grading had ended before the signal is complete: keep it
        for fut in set(futures) - handled:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                entry, key = futures[fut]
                finish(entry, key, fut.result(), progress)
        raise
    pool.shutdown(wait=True)
