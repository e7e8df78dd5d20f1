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
Submissions that ended in ``error`` (the grading failed, or some checks are
grader errors even after the retry) are tried again on the next run.

Flaky guard: every failing check (fail or error) of a program that was found
is graded once more, alone, in a fresh sandbox.  If it passes then, it keeps
the retry's verdict and score (pass) and is marked ``flaky``; its message says
that it failed first and how.  The gradebook's status column lists flaky
checks, so nothing is passed or failed silently.  A check that fails again
keeps its first verdict.

A regrade that fails (grader error, crash, timeout) never replaces a good
earlier result: the failure is written beside it and shown in the status.
Modules, one job each: ``model`` (options, entries, the summary, the
grading spec), ``discovery``, ``cache``, ``processes`` (starting and
stopping grading processes), ``worker`` (the grading process itself,
``python -m netgrade.batch grade SPEC``), ``retry`` (the flaky guard's
rules), ``task`` (one submission: grading and retry), ``store`` (one
submission's files), ``pages`` (HTML with a fallback), ``gradebook`` (the
class's files), ``progress``, ``run`` (threads) and ``remote`` (Dask).
Names with a leading underscore are shared between these modules only.
"""
from __future__ import annotations

from .cache import cache_key, cached_meta, pack_hash, submission_digest
from .discovery import ARCHIVE_SUFFIXES, discover, entry_name
from .gradebook import write_aggregates
from .model import DEFAULT_TIMEOUT, INTERRUPT_GRACE_S, META, BatchError, BatchOptions, Entry, GradingSpec, Summary
from .pages import render_index, render_report
from .processes import Interrupted, ProcessRegistry
from .remote import remote_grade
from .retry import failing_checks, merge_retry
from .run import default_jobs, per_submission_jobs, run_batch
from .store import store
from .task import grade_task

__all__ = [
    "ARCHIVE_SUFFIXES", "DEFAULT_TIMEOUT", "INTERRUPT_GRACE_S", "META", "BatchError", "BatchOptions", "Entry",
    "GradingSpec", "Interrupted", "ProcessRegistry", "Summary", "cache_key", "cached_meta", "default_jobs",
    "discover", "entry_name", "failing_checks", "grade_task", "merge_retry", "pack_hash", "per_submission_jobs",
    "remote_grade", "render_index", "render_report", "run_batch", "store", "submission_digest",
    "write_aggregates",
]
