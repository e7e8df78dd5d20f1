"""Batch grading: a class's submissions into a gradebook, reports and a class page.

Every entry of the batch folder (a subfolder or a .zip/.tar.gz/.tgz) is one
submission, named by its entry name (archive suffix removed).  Each one is
graded in a fresh ``python -m netgrade.batch grade`` process: a crash there (or
a hang past ``timeout``) costs that submission only, and pytest never runs
twice in one process.

Output folder::

    OUT/<name>/result.json      the Result (netgrade.result/1)
    OUT/<name>/report.html      the submission's report
    OUT/<name>/batch.json       what was graded: the cache key, batch status, flaky checks
    OUT/<name>/failed-regrade.json  a regrade that failed (the earlier good result is kept)
    OUT/gradebook.csv, OUT/results.jsonl, OUT/index.html

Cache and resume: a submission is graded again only when its content digest,
the merged pack, the netgrade version or the selected programs changed (or
with ``force``).  Each result is written, atomically, as soon as it is ready,
and ``batch.json`` last: an interrupted batch resumes where it stopped.
Submissions that ended in ``error`` are tried again on the next run.

Flaky guard: every failing check (fail or error) of a program that was found
is graded once more, alone, in a fresh sandbox.  If it passes then, it keeps
the retry's verdict and score (pass) and is marked ``flaky``; its message says
that it failed first and how.  The gradebook's status column lists flaky
checks, so nothing is passed or failed silently.  A check that fails again
keeps its first verdict.

A regrade that fails (grader error, crash, timeout) never replaces a good
earlier result: the failure is written beside it and shown in the status.
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import __version__, interrupts
from .atomicfile import atomic_write
from .results import Result, score_program, total

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
META = "batch.json"
DEFAULT_TIMEOUT = 900.0
#: after Ctrl-C, how long a grading process may take to clean up before it is killed
INTERRUPT_GRACE_S = 5.0


class BatchError(Exception):
    """The batch cannot start (bad folder, pack, programs); one line."""


@dataclass
class BatchOptions:
    out: str
    jobs: int | None = None  # submissions at a time; None: one per core
    runner: str = "local"
    pack_file: str | None = None
    force: bool = False
    layout: str | None = None  # "canvas" | "moodle"
    dask: str | None = None  # scheduler address
    programs: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT  # per grading process
    retry_failed: bool = True  # the flaky guard
    sub_jobs: int | None = None  # checks at a time within one submission; None: share the machine
    progress: bool = True
    similarity: bool = True  # near-copies between submissions (netgrade.copycheck)


@dataclass
class Entry:
    name: str
    path: str
    lms: dict | None = None


@dataclass
class Summary:
    graded: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    regrade_failed: list[str] = field(default_factory=list)
    flaky: dict[str, list[str]] = field(default_factory=dict)
    interrupted: bool = False
    skipped: list[str] = field(default_factory=list)
    html_renderer: str = "placeholder"
    duration_s: float = 0.0

    def exit_code(self) -> int:
        if self.interrupted:
            return interrupts.exit_code()
        return 1 if self.errors else 0


# ------------------------------------------------------------------ discovery

def entry_name(filename: str) -> str:
    lower = filename.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return filename


def discover(directory: str | Path, exclude: tuple[Path, ...] = ()) -> tuple[list[Entry], list[str]]:
    """The submissions in ``directory`` and the entries left out (with why)."""
    d = Path(directory)
    if not d.is_dir():
        raise BatchError(f"{directory}: not a folder")
    excluded = {p.resolve() for p in exclude}
    entries: list[Entry] = []
    skipped: list[str] = []
    for p in sorted(d.iterdir(), key=lambda p: p.name):
        if p.name.startswith(".") or p.resolve() in excluded:
            continue
        if p.is_dir() or (p.is_file() and p.name.lower().endswith(ARCHIVE_SUFFIXES)):
            entries.append(Entry(entry_name(p.name), str(p)))
        else:
            skipped.append(f"{p.name}: not a folder, .zip, .tar.gz or .tgz")
    # alice/ beside alice.zip: both keep their full entry names
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.name] = counts.get(e.name, 0) + 1
    for e in entries:
        if counts[e.name] > 1:
            e.name = Path(e.path).name
    return entries, skipped


# ------------------------------------------------------------------ cache keys

def pack_hash(pack_dict: dict) -> str:
    data = json.dumps(pack_dict, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def submission_digest(path: str) -> str:
    from .submission import open_submission
    sub = open_submission(path)
    try:
        return sub.digest
    finally:
        sub.cleanup()


def cache_key(digest: str, pack_digest: str, programs: list[str]) -> dict:
    return {"digest": digest, "pack": pack_digest, "version": __version__, "programs": sorted(programs)}


# ------------------------------------------------------------------ files

def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _renderers() -> tuple[Callable | None, Callable | None]:
    try:
        from .outputs.html import render, render_class  # type: ignore[import-not-found]
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
                        f"<td>{esc(c.message if c.status != 'pass' or c.flaky else '')}</td></tr>")
    note = f"<p>grading failed: {esc(result.message)}</p>" if result.status != "graded" else ""
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


# ------------------------------------------------------------------ grading one submission

def _worker_env() -> dict[str, str]:
    """The grading process imports the same netgrade as this one, wherever it was started from."""
    import netgrade
    here = str(Path(netgrade.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": here + (os.pathsep + path if path else "")}


def _worker_argv(spec_path: str) -> list[str]:
    return [sys.executable, "-m", "netgrade.batch", "grade", spec_path]


class Interrupted(Exception):
    pass


class ProcessRegistry:
    """The grading processes running now, so Ctrl-C can stop them (by their own process group)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.add(proc)
        if self.stop.is_set():
            self._signal(proc, signal.SIGINT)

    def discard(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # the grading process leads its own group
        except (ProcessLookupError, PermissionError):
            pass

    def interrupt_all(self) -> None:
        """SIGINT first (netgrade cleans up its sandboxes), SIGKILL after a grace period."""
        self.stop.set()
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            self._signal(p, signal.SIGINT)
        deadline = time.monotonic() + INTERRUPT_GRACE_S
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(p, signal.SIGKILL)


def _run_grader(path: str, task: dict, only_checks: list[str], tmp: str, tag: str,
                registry: ProcessRegistry | None) -> dict:
    """One grading process; returns the result dict (an error result when it crashed)."""
    from .grading import error_result
    out = os.path.join(tmp, f"result-{tag}.json")
    spec = {"path": path, "pack_file": task.get("pack_file"), "programs": task.get("programs", []),
            "runner": task.get("runner", "local"), "jobs": task.get("jobs"), "only_checks": only_checks,
            "out": out}
    spec_path = os.path.join(tmp, f"spec-{tag}.json")
    Path(spec_path).write_text(json.dumps(spec), "utf-8")
    argv = task.get("worker_argv") or _worker_argv(spec_path)
    if task.get("worker_argv"):
        argv = [*argv, spec_path]
    timeout = float(task.get("timeout") or DEFAULT_TIMEOUT)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, text=True, errors="replace", env=_worker_env())
    if registry is not None:
        registry.add(proc)
    try:
        # tag 1: the first grading; 2: the retry of its failing checks
        interrupts.pause(f"grader-started-{tag}", registry.stop if registry is not None else None)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            ProcessRegistry._signal(proc, signal.SIGINT)
            try:
                proc.communicate(timeout=INTERRUPT_GRACE_S)
            except subprocess.TimeoutExpired:
                ProcessRegistry._signal(proc, signal.SIGKILL)
                proc.communicate()
            return error_result(task["name"], task.get("pack_name", "?"), spec["runner"],
                                f"grading timed out after {timeout:g} s").to_dict()
    finally:
        if registry is not None:
            registry.discard(proc)
    if registry is not None and registry.stop.is_set():
        raise Interrupted()
    data = _read_json(Path(out))
    if data is None or "schema" not in data:
        tail = (err or "").strip().splitlines()[-3:]
        why = f"exit status {proc.returncode}" if proc.returncode >= 0 else f"killed by signal {-proc.returncode}"
        return error_result(task["name"], task.get("pack_name", "?"), spec["runner"],
                            f"grading crashed ({why}): " + " | ".join(tail)).to_dict()
    return data


def failing_checks(result: Result) -> list[str]:
    """The checks worth a second try: failed or in error, of programs that were found."""
    keys = []
    for p in result.programs:
        if p.status == "missing":
            continue
        for c in p.checks:
            if c.status in ("fail", "error"):
                keys.append(f"{p.id}/{c.id}")
    return keys


def merge_retry(first: Result, retry: Result) -> list[str]:
    """Mark checks that failed in ``first`` and passed in ``retry`` as flaky (in place).

    A flaky check takes the retry's verdict and score; its message tells what
    the first attempt saw.  Returns the flaky check keys.
    """
    again = {(p.id, c.id): c for p in retry.programs for c in p.checks}
    flaky = []
    for p in first.programs:
        changed = False
        for i, c in enumerate(p.checks):
            r = again.get((p.id, c.id))
            if r is None or c.status not in ("fail", "error") or r.status != "pass":
                continue
            r.flaky = True
            first_msg = c.message.strip() or c.status
            r.message = (f"flaky: {c.status} at first ({first_msg}); passed when graded again in a fresh sandbox")
            r.evidence = dict(r.evidence)
            r.evidence["first_attempt"] = {"status": c.status, "message": c.message, "evidence": c.evidence}
            p.checks[i] = r
            flaky.append(f"{p.id}/{c.id}")
            changed = True
        if changed:
            if p.status == "error" and not any(c.status == "error" for c in p.checks):
                p.status = "graded"
            score_program(p)
    if flaky:
        total(first)
        first.notices.append("flaky (failed, then passed in a fresh sandbox): " + ", ".join(flaky))
    return flaky


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
    if task.get("jobs") is not None:
        return task
    from .grading import default_jobs
    nthreads = 1
    try:
        from distributed import get_worker
        nthreads = max(1, int(get_worker().state.nthreads))
    except Exception:  # noqa: BLE001
        pass
    return {**task, "jobs": max(1, default_jobs() // nthreads)}


def grade_task(task: dict, registry: ProcessRegistry | None = None) -> dict:
    """Grade one submission (with the flaky retry).  Runs in a thread or on a Dask worker.

    Returns ``{"result": <result dict>, "flaky": [...], "retry_note": str}``;
    never raises for a problem of the submission or of the grader.
    """
    task = _worker_jobs(task)
    tmp = tempfile.mkdtemp(prefix="netgrade-batch-")
    try:
        path = _materialize(task, tmp)
        data = _run_grader(path, task, [], tmp, "1", registry)
        result = Result.from_dict(data)
        flaky: list[str] = []
        note = ""
        keys = failing_checks(result) if result.status == "graded" and task.get("retry_failed", True) else []
        if keys:
            again = Result.from_dict(_run_grader(path, task, keys, tmp, "2", registry))
            if again.status == "graded":
                flaky = merge_retry(result, again)
            else:
                note = f"the retry of failing checks could not run: {again.message}"
                result.notices.append(note)
        result.submission = task["name"]
        return {"result": result.to_dict(), "flaky": flaky, "retried": keys, "retry_note": note}
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def _worker_main(argv: list[str]) -> int:
    """``python -m netgrade.batch grade SPEC``: grade one submission into SPEC's ``out``."""
    if len(argv) != 2 or argv[0] != "grade":
        print("usage: python -m netgrade.batch grade SPEC.json", file=sys.stderr)
        return 2
    spec_ = json.loads(Path(argv[1]).read_text("utf-8"))
    if spec_.get("runner", "local") == "local":  # not root: the full sandbox in a user namespace of our own
        from .sandbox import userns
        userns.enter("netgrade.batch", argv)
    interrupts.install()  # the batch stops this process with SIGINT, whatever it inherited
    from .grading import BadInput, Options, error_result, grade, load_pack
    spec = json.loads(Path(argv[1]).read_text("utf-8"))
    try:
        pack = load_pack(spec.get("pack_file"), checks=False)  # run_batch checked its check keys
    except BadInput as exc:
        error_result(spec["path"], "?", spec["runner"], str(exc)).write_json(spec["out"])
        return 2
    opts = Options(programs=list(spec.get("programs") or []), runner=spec["runner"], jobs=spec.get("jobs"),
                   only_checks=list(spec.get("only_checks") or []))
    try:
        result = grade(spec["path"], pack, opts)
    except BadInput as exc:
        error_result(spec["path"], pack.name, spec["runner"], str(exc)).write_json(spec["out"])
        return 2
    except KeyboardInterrupt as exc:
        error_result(spec["path"], pack.name, spec["runner"], "interrupted").write_json(spec["out"])
        return interrupts.exit_code(exc)
    result.write_json(spec["out"])
    return 0


# ------------------------------------------------------------------ storing outcomes

def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_text(meta: dict) -> str:
    if meta.get("status") == "graded":
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


def store(out: Path, entry: Entry, key: dict, outcome: dict, lang: str) -> dict:
    """Write one submission's outcome; returns its batch.json record."""
    folder = out / entry.name
    folder.mkdir(parents=True, exist_ok=True)
    result = Result.from_dict(outcome["result"])
    now = datetime.now(UTC).isoformat(timespec="seconds")
    old = _read_json(folder / META)
    good_before = (old is not None and old.get("status") == "graded" and (folder / "result.json").is_file())
    if result.status != "graded" and good_before:
        # Never replace a good grade with a failed regrade: keep it, record the failure beside it.
        result.write_json(folder / "failed-regrade.json")
        meta = dict(old)
        meta["regrade_failed"] = {"message": result.message, "at": now, "key": key}
        atomic_write(folder / META, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        return meta
    result.write_json(folder / "result.json")
    atomic_write(folder / "report.html", render_report(result, lang))
    (folder / "failed-regrade.json").unlink(missing_ok=True)
    interrupts.pause("storing")
    meta = {"name": entry.name, "source": entry.path, "key": key, "status": result.status,
            "message": result.message, "graded_at": now, "duration_s": result.duration_s,
            "flaky": outcome.get("flaky", []), "retried": outcome.get("retried", []),
            "retry_note": outcome.get("retry_note", ""), "regrade_failed": None, "lms": entry.lms,
            "worker": outcome.get("worker", "local")}
    atomic_write(folder / META, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")  # last: the cache marker
    return meta


def cached_meta(out: Path, entry: Entry, key: dict) -> dict | None:
    """The stored record when the submission need not be graded again."""
    folder = out / entry.name
    meta = _read_json(folder / META)
    if meta is None or meta.get("status") != "graded" or not (folder / "result.json").is_file():
        return None
    return meta if meta.get("key") == key else None


def write_aggregates(out: Path, entries: list[Entry], program_ids: list[str], lang: str) -> None:
    """gradebook.csv, results.jsonl and index.html from what is stored for ``entries``."""
    from .copycheck import gradebook_cells, reference_cell, stored_pairs
    results: list[Result] = []
    links: dict[str, str] = {}
    pairs = stored_pairs(out)
    similar = gradebook_cells([_pair(p) for p in pairs or []])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "total", "max", *program_ids, "status", "reference_copy", "similar_to"])
    lines = []
    for e in entries:
        folder = out / e.name
        meta = _read_json(folder / META)
        data = _read_json(folder / "result.json")
        if meta is None or data is None:
            w.writerow([e.name, "", "", *([""] * len(program_ids)), "not graded (interrupted?)", "", ""])
            continue
        r = Result.from_dict(data)
        r.submission = e.name
        results.append(r)
        links[e.name] = urllib.parse.quote(e.name) + "/report.html"
        by_id = {p.id: p for p in r.programs}
        status = _status_text(meta)
        if r.status == "graded":
            cells = [f"{by_id[pid].score:g}" if pid in by_id else "" for pid in program_ids]
            w.writerow([e.name, f"{r.score:g}", f"{r.max_score:g}", *cells, status, reference_cell(r),
                        similar.get(e.name, "")])
        else:
            w.writerow([e.name, "", "", *([""] * len(program_ids)), status, "", ""])
        lines.append(json.dumps({"name": e.name, "status": meta.get("status"), "batch_status": status,
                                 "score": r.score, "max_score": r.max_score, "flaky": meta.get("flaky", []),
                                 "key": meta.get("key"), "lms": meta.get("lms"),
                                 "regrade_failed": meta.get("regrade_failed"), "result": r.to_dict()},
                                ensure_ascii=False))
    atomic_write(out / "gradebook.csv", buf.getvalue())
    atomic_write(out / "results.jsonl", "".join(line + "\n" for line in lines))
    atomic_write(out / "index.html", render_index(results, links, lang, pairs))


def _pair(d: dict):
    from .copycheck import Pair
    return Pair(d["program"], d["a"], d["b"], d["score"], d["shared"], d.get("regions", []))


# ------------------------------------------------------------------ the batch

def _ship(entry: Entry) -> tuple[bytes, str]:
    """The submission as bytes for a remote worker: archives as they are, folders as a .tar.gz."""
    p = Path(entry.path)
    if p.is_file():
        return p.read_bytes(), p.name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for child in sorted(p.iterdir()):
            tf.add(child, arcname=child.name)
    return buf.getvalue(), entry.name + ".tar.gz"


def default_jobs() -> int:
    return os.cpu_count() or 1


def per_submission_jobs(parallel: int) -> int:
    """Checks at a time within one submission, so that all of them together fit the machine.

    A lone submission gets grading's own default (2 per core, at most 8);
    N at a time share it.
    """
    from .grading import default_jobs as checks_default
    return max(1, checks_default() // max(1, parallel))


class _Progress:
    def __init__(self, total_: int, enabled: bool) -> None:
        self.enabled = enabled
        self._p = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            from .terminal import console
            self._p = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                               TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("eta"),
                               TimeRemainingColumn(), console=console(), transient=False)
            self._task = self._p.add_task("grading", total=total_)

    def __enter__(self):
        if self._p is not None:
            self._p.__enter__()
        return self

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)

    def line(self, text: str) -> None:
        if self._p is not None:
            from rich.text import Text

            from .text import printable
            self._p.console.print(Text(printable(text)))

    def advance(self) -> None:
        if self._p is not None:
            self._p.advance(self._task)


def run_batch(directory: str, opts: BatchOptions,
              grade_fn: Callable[[dict, ProcessRegistry | None], dict] = grade_task) -> Summary:
    """Grade every submission in ``directory`` into ``opts.out``.  Raises BatchError for bad input."""
    from .grading import BadInput, load_pack
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
    summary = Summary()
    summary.html_renderer = "netgrade.outputs.html" if _renderers()[0] is not None else "placeholder"

    lms_info: dict[str, dict] = {}
    if opts.layout:
        from .lms import LayoutError, split_export
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
    from .grading import error_result
    from .submission import SubmissionError
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

    parallel = opts.jobs or default_jobs()
    base_task = {"pack_file": str(Path(opts.pack_file).resolve()) if opts.pack_file else None,
                 "pack_name": pack.name, "programs": list(opts.programs), "runner": opts.runner,
                 "timeout": opts.timeout, "retry_failed": opts.retry_failed,
                 "jobs": opts.sub_jobs or (None if opts.dask else per_submission_jobs(parallel))}

    def finish(entry: Entry, key: dict, outcome: dict, progress: _Progress) -> None:
        theirs = outcome["result"].get("netgrade_version")
        if theirs and theirs != __version__:
            # a Dask worker with another netgrade would grade by other rules under this version's cache key
            outcome = {"result": error_result(entry.name, pack.name, opts.runner,
                                              f"graded by netgrade {theirs}, but this batch runs {__version__}: "
                                              "install the same version on every worker").to_dict()}
        meta = store(out, entry, key, outcome, pack.lang)
        if meta.get("regrade_failed") and meta["regrade_failed"].get("key") == key:
            summary.regrade_failed.append(entry.name)
        elif meta["status"] == "graded":
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
            progress.line(f"{len(summary.cached)} submission(s) unchanged since they were graded: not graded again")
        try:
            if opts.dask:
                _run_dask(opts.dask, todo, base_task, pack_text, finish, progress)
            else:
                _run_local(todo, base_task, parallel, grade_fn, finish, progress)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            from .copycheck import batch_similarity
            batch_similarity(out, entries, program_ids, pack, enabled=opts.similarity and not summary.interrupted)
            write_aggregates(out, entries, program_ids, pack.lang)
    summary.duration_s = round(time.monotonic() - started, 3)
    return summary


def _run_local(todo, base_task, parallel, grade_fn, finish, progress) -> None:
    registry = ProcessRegistry()
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
                    from .grading import error_result
                    outcome = {"result": error_result(entry.name, base_task["pack_name"], base_task["runner"],
                                                      f"batch error: {type(exc).__name__}: {exc}").to_dict()}
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


def _run_dask(address, todo, base_task, pack_text, finish, progress) -> None:
    try:
        from distributed import Client, Event, as_completed
        from distributed import wait as dask_wait
    except ImportError:
        raise BatchError('--dask needs dask.distributed: pip install "dask[distributed]"') from None
    try:
        client = Client(address, timeout=30, set_as_default=False)
    except OSError as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    owners = {}
    futures = []
    stop_name = f"netgrade-stop-{os.urandom(8).hex()}"  # set on Ctrl-C: the workers stop their graders
    current = client.as_current()  # as_completed looks for "the" client
    current.__enter__()
    try:
        for entry, key in todo:
            payload, payload_name = _ship(entry)
            task = {**base_task, "name": entry.name, "path": None, "payload": payload,
                    "payload_name": payload_name, "pack_text": pack_text, "stop_event": stop_name}
            fut = client.submit(remote_grade, task, key=f"netgrade-{os.urandom(8).hex()}", pure=False)
            owners[fut.key] = (entry, key)
            futures.append(fut)
        for fut in as_completed(futures):
            entry, key = owners[fut.key]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died or the task raised
                from .grading import error_result
                outcome = {"result": error_result(entry.name, base_task["pack_name"], base_task["runner"],
                                                  f"dask worker error: {type(exc).__name__}: {exc}").to_dict()}
            finish(entry, key, outcome, progress)
    except KeyboardInterrupt:
        progress.line("interrupted: stopping the Dask tasks' grading processes; finished results are kept")
        # cancelling alone would leave a running task's grading process at work on its worker
        Event(stop_name, client=client).set()
        try:
            dask_wait(futures, timeout=INTERRUPT_GRACE_S + 10)
        except Exception:  # noqa: BLE001 - a worker that does not answer: cancel is all that is left
            pass
        client.cancel(futures)
        raise
    finally:
        current.__exit__(None, None, None)
        client.close()


def remote_grade(task: dict) -> dict:
    """A Dask task: write the shipped pack out, then grade as in local mode."""
    try:
        from distributed import get_worker
        worker = str(get_worker().name)
    except Exception:  # noqa: BLE001
        worker = "?"
    registry = ProcessRegistry()
    done = threading.Event()
    if task.get("stop_event"):
        from distributed import Event, get_client
        stop = Event(task["stop_event"], client=get_client())  # the client: here, in the task's own thread

        def watch() -> None:  # the batch was interrupted: stop this task's grading process
            while not done.is_set():
                try:
                    if stop.wait(timeout=1):
                        registry.interrupt_all()
                        return
                except Exception as exc:  # noqa: BLE001 - the scheduler went away: the task ends with it
                    print(f"netgrade: the stop watch ended: {exc!r}", file=sys.stderr)
                    return
        threading.Thread(target=watch, name="netgrade-stop-watch", daemon=True).start()
    path = None
    if task.get("pack_text") is not None:
        fd, path = tempfile.mkstemp(prefix="netgrade-pack-", suffix=".toml")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(task["pack_text"])
        task = {**task, "pack_file": path}
    try:
        outcome = grade_task(task, registry)
    finally:
        done.set()
        if path:
            os.unlink(path)
    outcome["worker"] = worker
    return outcome


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
