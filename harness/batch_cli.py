"""``netgrade batch``: grade a class's submissions (registered in cli.py with ``main.add_command(batch)``).

Exit status: 0 when every submission was graded (whatever its score), 1 when
some submission ended in error (its row says why), 2 on bad input, 130 when
interrupted by Ctrl-C (SIGINT), 143 by SIGTERM (finished results are kept; run
the same command to resume).
"""
from __future__ import annotations

import sys

import click

from .runner import LOCAL, RUNNERS

EXIT_BAD_INPUT = 2


@click.command("batch")
@click.argument("directory", type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(),
              help="Output folder: OUT/<name>/result.json and report.html, gradebook.csv, results.jsonl, index.html.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Submissions graded at the same time. Default: one per core "
                   "(each one's checks share the machine).")
@click.option("--runner", type=click.Choice(list(RUNNERS)), default=LOCAL, show_default=True,
              help="Where each submission's checks run.")
@click.option("--docker-mode", type=click.Choice(["auto", "direct", "container"]), default="auto",
              show_default=True,
              help="With --runner docker, as for `netgrade check`. container: the whole batch in one container"
                   " with no network (one `docker exec` per grading), netgrade root there with the local sandbox;"
                   " submissions and results go through the engine's API. auto: direct where it can work"
                   " (root, the engine on this machine), else container.")
@click.option("--pack", "pack_file", type=click.Path(), default=None,
              help="A TOML file merged over the default pack.")
@click.option("--program", "programs", multiple=True, metavar="ID",
              help="Grade only this program (repeatable). Default: every program of the pack.")
@click.option("--force", is_flag=True,
              help="Grade every submission again, even those unchanged since their last grading.")
@click.option("--layout", type=click.Choice(["canvas", "moodle"]), default=None,
              help="DIRECTORY is a Canvas or Moodle bulk download (the zip or its unpacked folder): "
                   "split it into one submission per student.")
@click.option("--dask", "dask_address", default=None, metavar="tcp://HOST:8786",
              help="Grade on a Dask distributed cluster (its workers need netgrade installed).")
@click.option("--timeout", type=click.FloatRange(1), default=900, show_default=True,
              help="Seconds one submission's grading may take before it is stopped and recorded as an error.")
@click.option("--no-retry", is_flag=True,
              help="Do not grade failing checks a second time (the flaky guard).")
@click.option("--no-similarity", is_flag=True,
              help="Do not look for near-copies between submissions (class report and gradebook).")
@click.option("--check-jobs", type=click.IntRange(1, 64), default=None, hidden=True,
              help="Checks at a time within one submission (default: share the machine).")
def batch(directory, out, jobs, runner, docker_mode, pack_file, programs, force, layout, dask_address, timeout,
          no_retry, no_similarity, check_jobs) -> None:
    """Grade every submission in DIRECTORY: each subfolder or .zip/.tar.gz/.tgz is one.

    \b
    Unchanged submissions are not graded again (content, pack and netgrade
    version are compared), so an interrupted batch resumes where it stopped.
    A failing check is graded once more in a fresh sandbox; if it passes then,
    it counts as passed and is marked flaky in the reports and the gradebook.
    """
    from . import interrupts
    interrupts.install()  # first, so an inherited "ignore SIGINT" (a script's background job) cannot disarm it
    try:
        _batch(directory, out, jobs, runner, pack_file, programs, force, layout, dask_address, timeout, no_retry,
               no_similarity, check_jobs, docker_mode)
    except KeyboardInterrupt as exc:
        click.echo("interrupted: finished results are kept; run the same command again to grade the rest",
                   err=True)
        sys.exit(interrupts.exit_code(exc))


def _batch(directory, out, jobs, runner, pack_file, programs, force, layout, dask_address, timeout, no_retry,
           no_similarity, check_jobs, docker_mode="auto") -> None:
    from .batch import BatchError, BatchOptions, run_batch
    opts = BatchOptions(out=out, jobs=jobs, runner=runner, pack_file=pack_file, force=force, layout=layout,
                        dask=dask_address, programs=list(programs), timeout=timeout, retry_failed=not no_retry,
                        sub_jobs=check_jobs, progress=True, similarity=not no_similarity, docker_mode=docker_mode)
    try:
        summary = run_batch(directory, opts)
    except BatchError as exc:
        click.echo(f"netgrade: error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    from .i18n import translator
    _ = translator(summary.lang)  # the batch's language: the pack's
    for line in summary.skipped:
        click.echo(_("skipped {what}", what=line), err=True)
    parts = [_("{count} graded", count=len(summary.graded)), _("{count} unchanged (cached)", count=len(summary.cached)),
             _("{count} in error", count=len(summary.errors))]
    if summary.regrade_failed:
        parts.append(_("{count} regrade(s) failed, earlier results kept: {names}", count=len(summary.regrade_failed),
                       names=", ".join(summary.regrade_failed)))
    if summary.flaky:
        parts.append(_("{count} flaky check(s) in {names}", count=sum(len(v) for v in summary.flaky.values()),
                       names=", ".join(sorted(summary.flaky))))
    click.echo(_("{parts} in {seconds} s", parts="; ".join(parts), seconds=f"{summary.duration_s:.1f}"))
    if summary.html_renderer == "placeholder":
        click.echo(_("note: HTML reports are minimal placeholders (netgrade.outputs.html is not available)"), err=True)
    if summary.interrupted:
        click.echo(_("interrupted: run the same command again to grade the rest"), err=True)
    click.echo(_("gradebook: {gradebook}  class report: {index}", gradebook=f"{out}/gradebook.csv",
                 index=f"{out}/index.html"))
    sys.exit(summary.exit_code())
