"""The ``netgrade`` command line: a public contract (scripts rely on it).

Exit status of ``netgrade check``: 0 when every must and should check passed,
1 when any did not (or a program is missing), 2 on bad input (a missing path,
a bad pack or archive, an unknown program) with a one-line reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from . import __version__, interrupts
from .i18n import N_, Msg
from .runner import DOCKER, LOCAL, RUNNERS

EXIT_BAD_INPUT = 2


def _die(message: str) -> None:
    click.echo(f"netgrade: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _parse_runs(values: tuple[str, ...]) -> dict[str, str]:
    runs = {}
    for v in values:
        pid, sep, cmd = v.partition("=")
        if not sep or not pid or not cmd.strip():
            _die(f"--run wants ID=COMMAND, got {v!r}")
        runs[pid.strip()] = cmd
    return runs


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="netgrade")
def main() -> None:
    """Grade socket programs against the course pack, in a sandbox, with scripted peers.

    \b
    Start here:
      netgrade reference export sample/     # a complete, correct submission
      netgrade check sample/                # grade it: a table of every check
      netgrade list                         # every program and check, with points
    """


@main.command()
@click.argument("path", type=click.Path())
@click.option("--program", "programs", multiple=True, metavar="ID",
              help="Grade only this program (repeatable). Default: every program of the pack.")
@click.option("--pack", "pack_file", type=click.Path(), default=None,
              help="A TOML file merged over the default pack (points, texts, ports, limits...).")
@click.option("--runner", type=click.Choice(list(RUNNERS)), default=LOCAL, show_default=True,
              help="local: a network namespace per check on this machine. docker: in containers of the grading"
                   " image (see `netgrade image --help` and --docker-mode).")
@click.option("--docker-mode", type=click.Choice(["auto", "direct", "container"]), default="auto",
              show_default=True,
              help="With --runner docker. direct: the student's programs in a container sharing only loopback"
                   " with the grader's, entered from here (needs root and the engine on this machine). container:"
                   " the whole grading inside one container with no network, netgrade root there with the local"
                   " sandbox; the submission and the reports go through the engine's API (a non-root user, rootless"
                   " Docker, DOCKER_HOST=tcp:// or ssh://, Docker Desktop). auto: direct where it can work, else"
                   " container.")
@click.option("--runner-label", default=None, hidden=True,
              help="The result's runner field (set by the container mode for the grading inside it).")
@click.option("--run", "runs", multiple=True, metavar="ID=COMMAND",
              help="Start program ID with COMMAND instead of `python3 FILE` (repeatable); "
                   "{file}, {port} and {python} are filled in.")
@click.option("--json", "json_file", type=click.Path(), default=None,
              help="Write the result (schema netgrade.result/1) to this file; written even when grading fails.")
@click.option("--html", "html_file", type=click.Path(), default=None,
              help="Write a self-contained HTML report (diagrams of every exchange) to this file.")
@click.option("--junit", "junit_file", type=click.Path(), default=None,
              help="Write JUnit XML (one testcase per check) for CI viewers to this file.")
@click.option("--gradescope", "gradescope_file", type=click.Path(), default=None,
              help="Write Gradescope's results.json to this file.")
@click.option("--markdown", "markdown_file", type=click.Path(), default=None,
              help="Write a Markdown summary to this file (also appended to $GITHUB_STEP_SUMMARY when set).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the messages, the reports and the table. Default: the pack's `lang`, else the"
                   " user's locale (LANG=zh_CN.UTF-8: zh), else en.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None,
              help="Checks run at the same time. Default: chosen from what is graded, at most 2 per core and 8"
                   " (one UDP or TCP program alone: one at a time, which starts soonest).")
@click.option("--suites", "suites", multiple=True, type=click.Path(exists=True), metavar="PATH",
              help="Also run the checks in this pytest file or folder (an instructor's own; repeatable).")
@click.option("--verbose", "-v", is_flag=True, help="List the checks of missing programs too.")
@click.option("--keep-plan", type=click.Path(), default=None, hidden=True,
              help="Also write the grading plan here (to run the suites by hand with pytest).")
@click.option("--no-namespaces", is_flag=True, hidden=True,
              help="Grade on the host's loopback even where namespaces work (for testing the fallback).")
@click.option("--watch", is_flag=True,
              help="PATH is a folder: grade it, then again on every save, only the programs whose files changed"
                   " (fixed and broken checks first). --json, --html and the other reports are written again"
                   " after each re-grade with the whole submission's latest result. Local runner only; Ctrl-C"
                   " ends it (exit 130) and leaves the last reports as they were.")
def check(path, programs, pack_file, runner, runs, json_file, html_file, junit_file, gradescope_file,
          markdown_file, lang, jobs, suites, verbose, keep_plan, no_namespaces, docker_mode="auto",
          runner_label=None, watch=False) -> None:
    """Grade the submission at PATH (a folder, .zip or .tar.gz)."""
    if runner == DOCKER and not watch:
        interrupts.install()
        try:
            _docker_check(path, docker_mode, programs, pack_file, runs, json_file, html_file, junit_file,
                          gradescope_file, markdown_file, lang, jobs, suites, verbose)
        except KeyboardInterrupt as exc:
            if json_file:
                from .grading import error_result
                error_result(str(path), "?", "docker", _interrupted_why(exc)).write_json(json_file)
            click.echo("netgrade: interrupted", err=True)
            sys.exit(interrupts.exit_code(exc))
    if runner == LOCAL and not no_namespaces:  # not root: the full sandbox in a user namespace of our own
        from .sandbox import userns
        userns.enter("netgrade", sys.argv[1:])
    # first: Ctrl-C and SIGTERM (a cancelled CI job) end the run with its cleanup, even when SIGINT
    # was inherited as ignored (a background job of a script)
    interrupts.install()
    try:
        _check(path, programs, pack_file, runner, runs, json_file, html_file, junit_file, gradescope_file,
               markdown_file, lang, jobs, suites, verbose, keep_plan, no_namespaces, runner_label, watch)
    except KeyboardInterrupt as exc:
        if json_file and not getattr(exc, "recorded", False):  # before grading began: the record all the same
            from .grading import error_result
            error_result(str(path), "?", runner, _interrupted_why(exc)).write_json(json_file)
        click.echo("netgrade: interrupted", err=True)
        sys.exit(interrupts.exit_code(exc))


def _interrupted_why(exc: BaseException) -> Msg:
    return Msg(N_("terminated (SIGTERM)")) if interrupts.exit_code(exc) == 143 else Msg(N_("interrupted (SIGINT)"))


def _docker_check(path, docker_mode, programs, pack_file, runs, json_file, html_file, junit_file, gradescope_file,
                  markdown_file, lang, jobs, suites, verbose) -> None:
    """--runner docker: the direct mode where it can work (or is asked for), else grading inside a container."""
    from .docker import engine, incontainer
    forced = None if docker_mode == "auto" else docker_mode
    mode, why = "direct", ""
    try:
        client = engine.connect()
        mode, why = incontainer.choose(client, forced)
        client.close()
    except engine.EngineError as exc:
        if os.geteuid() != 0 or forced == "container":
            _die(str(exc))
        # as root, the direct mode's preflight says it, as before
    if mode == "direct":
        _check(path, programs, pack_file, "docker", runs, json_file, html_file, junit_file, gradescope_file,
               markdown_file, lang, jobs, suites, verbose, None, False, None)
        return
    if not os.path.exists(path):
        _die(f"{path}: no such file or folder")
    args: list[str] = []
    for p in programs:
        args += ["--program", p]
    if pack_file:
        args += ["--pack", pack_file]
    for r in runs:
        args += ["--run", r]
    if lang:
        args += ["--lang", lang]
    if jobs:
        args += ["--jobs", str(jobs)]
    for s in suites:
        args += ["--suites", s]
    if verbose:
        args.append("--verbose")
    outputs = {"json": json_file, "html": html_file, "junit": junit_file, "gradescope": gradescope_file,
               "markdown": markdown_file}
    try:
        from .grading import pack_limits
        code = incontainer.run_check(path, args, outputs, why, log=lambda m: click.echo(m, err=True),
                                     limits=pack_limits(pack_file))
    except (engine.EngineError, Exception) as exc:  # noqa: BLE001 - the engine's failures are grader errors
        message = Msg(N_("grader error: {error}"), {"error": f"{incontainer.LABEL}: {engine.short_error(exc)}"})
        if json_file:
            from .grading import error_result
            error_result(str(path), "?", incontainer.LABEL, message).write_json(json_file)
        click.echo(f"netgrade: error: {message}", err=True)
        sys.exit(1)
    if json_file and not os.path.exists(json_file) and code not in (0, 1, 2):
        from .grading import error_result
        error_result(str(path), "?", incontainer.LABEL,
                     Msg(N_("grader error: the grading container ended with status {code} and no result"),
                         {"code": code})).write_json(json_file)
    sys.exit(code)


def _check(path, programs, pack_file, runner, runs, json_file, html_file, junit_file, gradescope_file,
           markdown_file, lang, jobs, suites, verbose, keep_plan, no_namespaces, runner_label=None,
           watch=False) -> None:
    from .grading import BadInput, Options, error_result, grade, load_pack
    from .i18n import choose_lang
    from .outputs import write_all
    from .results import localize
    from .terminal import render

    lang_ = choose_lang(lang, None)

    def outputs(result) -> None:
        localize(result, lang_)  # the JSON's messages in the grading language (their ids let any report redo it)
        # JSON first: it is the record; the reports are views of it
        if json_file:
            result.write_json(json_file)
        for problem in write_all(result, lang_, html=html_file, junit=junit_file, gradescope=gradescope_file,
                                 markdown=markdown_file, step_summary=bool(markdown_file)):
            click.echo(f"netgrade: warning: {problem}", err=True)

    def bad(message: str, pack_name: str = "?") -> None:
        outputs(error_result(str(path), pack_name, runner, message))
        _die(message)

    try:
        pack = load_pack(pack_file, [os.path.abspath(p) for p in suites])
    except BadInput as exc:
        bad(str(exc))
        return
    lang_ = choose_lang(lang, getattr(pack, "lang", None))
    opts = Options(programs=list(programs), runner=runner, run=_parse_runs(runs), jobs=jobs,
                   keep_plan=keep_plan, namespaces=False if no_namespaces else None, runner_label=runner_label,
                   suites=[os.path.abspath(p) for p in suites])
    if watch:
        _watch(path, pack, opts, lang_, outputs, bad, verbose,
               [json_file, html_file, junit_file, gradescope_file, markdown_file])
    try:
        interrupts.pause("check-started")
        result = grade(path, pack, opts)
        outputs(result)  # an interrupt while these are written: they say "interrupted" instead
        render(result, verbose=verbose, lang=lang_)
    except BadInput as exc:
        bad(str(exc), pack.name)
        return
    except KeyboardInterrupt as exc:
        outputs(error_result(str(path), pack.name, runner, _interrupted_why(exc)))
        exc.recorded = True
        raise
    sys.exit(result.exit_code())


def _watch(path, pack, opts, lang_, outputs, bad, verbose, written) -> None:
    """--watch: grade, then re-grade on every save until Ctrl-C (harness/watch.py)."""
    from .grading import BadInput, error_result
    from .watch import Watch, refusal
    why = refusal(path, opts.runner, LOCAL)
    if why is not None:
        bad(why.render(lang_), pack.name)
    watcher = Watch(path, pack, opts, lang_, outputs, verbose, ignore=written)
    try:
        watcher.run()
    except BadInput as exc:  # the first grading's: as `netgrade check` says it
        bad(str(exc), pack.name)
    except KeyboardInterrupt as exc:
        if watcher.latest is None:  # the first grading did not end: its record says why
            outputs(error_result(str(path), pack.name, opts.runner, _interrupted_why(exc)))
        exc.recorded = True  # else the reports keep the last whole result
        raise


@main.command("report")
@click.argument("result_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language to render in. Default: the result's own, else the user's locale, else en.")
@click.option("--html", "html_file", type=click.Path(), default=None, help="Write the HTML report to this file.")
@click.option("--junit", "junit_file", type=click.Path(), default=None, help="Write JUnit XML to this file.")
@click.option("--gradescope", "gradescope_file", type=click.Path(), default=None,
              help="Write Gradescope's results.json to this file.")
@click.option("--markdown", "markdown_file", type=click.Path(), default=None,
              help="Write a Markdown summary to this file.")
@click.option("--json", "json_file", type=click.Path(), default=None,
              help="Write the result again, its messages in the chosen language, to this file.")
@click.option("--verbose", "-v", is_flag=True, help="List the checks of missing programs too.")
def report_cmd(result_file, lang, html_file, junit_file, gradescope_file, markdown_file, json_file, verbose) -> None:
    """Render RESULT_FILE (a netgrade.result/1 JSON) again, in either language, without grading again."""
    import json as json_

    from .i18n import choose_lang
    from .outputs import write_all
    from .results import Result, localize
    from .terminal import render

    try:
        with open(result_file, encoding="utf-8") as f:
            result = Result.from_dict(json_.load(f))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        _die(f"{result_file}: not a netgrade result ({type(exc).__name__}: {exc})")
    lang_ = choose_lang(lang, result.lang or None)  # a result written before it had a `lang`: the locale's
    localize(result, lang_)
    if json_file:
        result.write_json(json_file)
    for problem in write_all(result, lang_, html=html_file, junit=junit_file, gradescope=gradescope_file,
                             markdown=markdown_file, step_summary=False):
        click.echo(f"netgrade: warning: {problem}", err=True)
    render(result, verbose=verbose, lang=lang_)
    sys.exit(result.exit_code())


@main.command("list")
@click.option("--pack", "pack_file", type=click.Path(), default=None, help="A TOML file merged over the default pack.")
@click.option("--suites", "suites", multiple=True, type=click.Path(exists=True), metavar="PATH",
              help="Also list the checks in this pytest file or folder.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the titles. Default: the pack's `lang`, else the user's locale, else en.")
def list_checks(pack_file, suites, lang) -> None:
    """Show every program of the pack and its checks, with levels and points."""
    from rich.table import Table

    from .catalog import collect_checks
    from .grading import BadInput, load_pack
    from .i18n import choose_lang, render, translator, word

    try:
        pack = load_pack(pack_file, [os.path.abspath(p) for p in suites])
    except BadInput as exc:
        _die(str(exc))
    try:
        checks = collect_checks([os.path.abspath(p) for p in suites])
    except RuntimeError as exc:
        _die(str(exc))
    lang_ = choose_lang(lang, pack.lang)
    _ = translator(lang_)
    table = Table(title=_(pack.title))
    for col, header in (("program", _("program")), ("file", _("file")), ("check", _("check")),
                        ("level", _("level")), ("points", _("points")), ("sheet", _("sheet"))):
        table.add_column(header, no_wrap=col in ("program", "file", "level", "points"))
    for pid, prog in pack.programs.items():
        mine = [c for c in checks if c.program == pid]
        if not mine:
            table.add_row(pid, prog.file, _("(no checks yet)"), "", "", prog.sheet)
        for c in mine:
            level = pack.level_for(c.key, c.level)
            points = f"{pack.points_for(c.key, level):g}" if pack.enabled(c.key) else _("off")
            table.add_row(pid, prog.file, f"{c.id}: {render(c.title, lang_)}", word("level", level, lang_), points,
                          c.sheet or prog.sheet)
        table.add_section()
    from .terminal import console
    console().print(table)


@main.group()
def reference() -> None:
    """Our reference programs: export them, or run one to test against."""


@reference.command("export")
@click.argument("directory", type=click.Path())
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def reference_export(directory, force) -> None:
    """Write every reference program under the sheet's file names into DIRECTORY.

    The folder is a complete submission that gets full marks: each program
    runs with Python's standard library alone (the TFTP and framing codecs it
    uses are written beside it).
    """
    from . import reffiles as refs
    from .grading import BadInput, load_pack
    try:
        pack = load_pack(None)
    except BadInput as exc:
        _die(str(exc))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written, files = [], {}
    for pid, prog in pack.programs.items():
        if not refs.available(pid):
            continue
        files[prog.file] = refs.source_path(pid)
        files.update(refs.helpers(pid))
        written.append(prog.file)
    for name, source in files.items():
        target = out / name
        if target.exists() and not force and target.read_bytes() != source.read_bytes():
            _die(f"{target} exists and differs from the reference (use --force to overwrite)")
    for name, source in files.items():
        shutil.copyfile(source, out / name)
    click.echo(f"wrote {len(written)} reference programs to {out}/")


@reference.command("run", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("program_id")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--pack", "pack_file", type=click.Path(), default=None, help="A TOML file merged over the default pack.")
@click.pass_context
def reference_run(ctx, program_id, args, pack_file) -> None:
    """Run reference program PROGRAM_ID in the foreground, as the sheet describes it.

    It uses the sheet's port and the current folder (a TFTP server serves the
    files there).  Extra ARGS go to the program; `netgrade reference run ID --help`
    lists them.  Stop a server with Ctrl-C.
    """
    from . import reffiles as refs
    from .grading import BadInput, load_pack
    from .sandbox.python import cache_dir
    if program_id in ("-h", "--help"):
        click.echo(ctx.get_help())
        return
    try:
        pack = load_pack(pack_file)
    except BadInput as exc:
        _die(str(exc))
    if program_id not in pack.programs:
        _die(f"unknown program {program_id!r} (see `netgrade list`)")
    if not refs.available(program_id):
        _die(f"no reference program for {program_id} yet")
    argv = refs.command(pack.programs[program_id], sys.executable, refs.exported(cache_dir())) + list(args)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        code = subprocess.call(argv, env=env)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


@main.group()
def demo() -> None:
    """Classroom demonstrations of the phenomena the course teaches."""


@demo.command("sticky")
@click.option("--gap", type=float, default=0.05, show_default=True,
              help="Seconds between the pieces of a split message (they leave as separate segments).")
def demo_sticky(gap) -> None:
    """Sticky packets (001 §4), live: a naive recv(1024) echo server and the framed
    reference receive the same shaped traffic; see what each one's recv() got.

    Runs in a private network namespace when possible (else on loopback ports
    9000 and 9001).
    """
    from .demo import sticky_demo
    sys.exit(sticky_demo(sys.stdout, gap=gap))


@main.command()
def doctor() -> None:
    """Which runners work on this machine, why the others do not, and the fix for each missing piece.

    Everything is tried for real (a user and a network namespace, the kernel's
    settings, the sandbox launcher, the Docker engine and the grading image).
    Exit 0 when at least one full sandbox works here, 1 when none does.
    """
    from .doctor import report
    sys.exit(report())


from .batch_cli import batch  # noqa: E402 - defined in its own module, registered here

main.add_command(batch)

from .image_cli import image  # noqa: E402

main.add_command(image)

from .service.commands import serve, submit  # noqa: E402 - the grading service (harness/service/)

main.add_command(serve)
main.add_command(submit)


if __name__ == "__main__":  # pragma: no cover
    main()
