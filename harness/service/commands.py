"""The service's commands: ``netgrade serve`` (and ``serve init``, ``serve roster``, ``serve worker``) and
``netgrade submit``; cli.py registers them.  The logic is in this package's other modules."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

EXIT_BAD_INPUT = 2
DEFAULT_DATA = "./netgrade-data"


def _die(message: str) -> None:
    click.echo(f"netgrade: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _need_service_deps() -> None:
    try:
        import alembic  # noqa: F401
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        _die(f"the service needs its extra: pip install 'netgrade[service]' ({exc})")


def _engine(data: str, db_url: str | None):
    _need_service_deps()
    from . import db
    Path(data).mkdir(parents=True, exist_ok=True)
    url = db.normalize_url(db_url or db.default_url(data))
    try:
        engine = db.connect(url)
        db.upgrade(engine)
    except Exception as exc:  # noqa: BLE001 - one line: which database, why
        _die(f"cannot open the database {db.safe_url(url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return url, engine


def _data_opts(f):
    f = click.option("--db", "db_url", default=None, metavar="URL", envvar="NETGRADE_DB",
                     help="sqlite:///FILE or postgresql://USER@HOST/DB (default: DATA/netgrade.db, SQLite in WAL"
                          " mode). Also NETGRADE_DB.")(f)
    return click.option("--data", default=DEFAULT_DATA, show_default=True, type=click.Path(file_okay=False),
                        help="The service's folder (its SQLite database).")(f)


@click.group("serve", invoke_without_command=True)
@_data_opts
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(0, 64), default=2, show_default=True,
              help="Grading worker processes on this machine (0: only the API; run `netgrade serve worker`"
                   " elsewhere).")
@click.option("--runner", type=click.Choice(["auto", "local", "docker"]), default="auto", show_default=True,
              help="auto: the Docker runner when an engine answers and has the grading image, else the local"
                   " sandbox (the result says which).")
@click.option("--dask", default=None, metavar="tcp://HOST:8786", help="Grade on a Dask cluster instead.")
@click.option("--lease", type=click.FloatRange(1), default=30, show_default=True,
              help="Seconds a worker's lease lasts without a heartbeat (a dead worker's job is requeued then).")
@click.option("--grace", type=click.FloatRange(0), default=60, show_default=True,
              help="On SIGTERM, seconds a running grading may take to finish before it is requeued.")
@click.option("--timeout", type=click.FloatRange(1), default=900, show_default=True,
              help="Seconds one grading may take before it is stopped (a grader error).")
@click.option("--max-body", type=click.IntRange(1), default=10 * 2**20, show_default=True,
              help="Bytes: the ceiling of any request body (413 above).")
@click.option("--url", "base_url", default=None, help="The service's public URL (for the students' links).")
@click.option("--db-wait", type=click.FloatRange(0.1), default=10, show_default=True,
              help="Seconds a request waits for SQLite's write lock (another process's transaction) before it is"
                   " answered 503 'try again' (netgrade submit does).")
@click.option("--grader-argv", default=None, hidden=True)
@click.pass_context
def serve(ctx, data, db_url, host, port, workers, runner, dask, lease, grace, timeout, max_body, base_url,
          db_wait, grader_argv) -> None:
    """Run the grading service: the API on HOST:PORT and WORKERS grading processes.

    \b
    netgrade serve init --course net101 --pack net101.toml   # once: prints the instructor token
    netgrade serve roster --course net101 roster.csv --links links.csv
    netgrade serve                                           # http://127.0.0.1:8000 (OpenAPI: /docs)
    """
    if ctx.invoked_subcommand is not None:
        return
    url, _ = _engine(data, db_url)
    from .app import Settings
    from .server import serve as run
    settings = Settings(max_body_bytes=max_body, base_url=base_url or f"http://{host}:{port}", db_wait_s=db_wait)
    opts = {"runner": runner, "lease": lease, "grace": grace, "timeout": timeout, "dask": dask,
            "grader_argv": grader_argv}
    sys.exit(run(url, host, port, workers, opts, settings))


@serve.command("init")
@_data_opts
@click.option("--course", required=True, help="The course's name (letters, digits, '._-').")
@click.option("--pack", "pack_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A TOML file merged over the default pack (as `netgrade check --pack`).")
@click.option("--program", "programs", multiple=True, metavar="ID", help="Grade only this program (repeatable).")
@click.option("--runner", type=click.Choice(["auto", "local", "docker"]), default="auto", show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--limits", "limits_json", default=None, metavar="JSON",
              help='Limits over the defaults, e.g. \'{"cooldown_s": 30, "deadline": "2027-01-15T23:59:00+08:00"}\'.')
def serve_init(data, db_url, course, pack_file, programs, runner, lang, limits_json) -> None:
    """Create a course; print its instructor token once, as the last line."""
    _, engine = _engine(data, db_url)
    from . import admin
    from .limits import Limits
    try:
        lim = Limits.from_dict(json.loads(limits_json)) if limits_json else Limits()
    except (ValueError, TypeError) as exc:
        _die(f"--limits: {exc}")
    pack_text = Path(pack_file).read_text("utf-8") if pack_file else None
    try:
        token = admin.create_course(engine, course, pack_text, list(programs), runner, lim, lang)
    except admin.AdminError as exc:
        _die(str(exc))
    click.echo(f"course {course} created; programs: {', '.join(programs) or 'all of the pack'}")
    click.echo("the instructor token follows; it is shown only now (only its hash is stored):")
    click.echo(token)


@serve.command("roster")
@_data_opts
@click.option("--course", required=True)
@click.argument("roster_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--links", "links_file", required=True, type=click.Path(dir_okay=False),
              help="Write student id, name, token and personal link of each new student here (hand it out"
                   " through the LMS; the tokens are not stored anywhere else).")
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True,
              help="The service's public URL, for the links.")
def serve_roster(data, db_url, course, roster_csv, links_file, base_url) -> None:
    """Add the students of ROSTER_CSV (student id, name[, email]) and issue each a personal token."""
    _, engine = _engine(data, db_url)
    from . import admin
    try:
        c = admin.course_by_name(engine, course)
        rows = admin.parse_roster(Path(roster_csv).read_text("utf-8-sig"))
        issued, skipped = admin.add_students(engine, c.id, rows, base_url)
    except admin.AdminError as exc:
        _die(str(exc))
    fd = os.open(links_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(admin.links_csv(issued))
    click.echo(f"{len(issued)} student(s) added to {course}, their links in {links_file}"
               + (f"; {len(skipped)} already on the roster (no new token): {', '.join(skipped[:10])}"
                  if skipped else ""))


@serve.command("worker", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve_worker(args) -> None:
    """A grading worker alone (another machine, a container): `netgrade serve worker --db URL [--runner R]`."""
    _need_service_deps()
    from .worker import main as worker_main
    sys.exit(worker_main(list(args)))


@click.command("submit")
@click.argument("path", type=click.Path())
@click.option("--server", required=True, envvar="NETGRADE_SERVER", help="The service's URL. Also NETGRADE_SERVER.")
@click.option("--token", default=None, help="Your personal token (default: $NETGRADE_TOKEN).")
@click.option("--json", "json_file", type=click.Path(), default=None, help="Write the result JSON here.")
@click.option("--no-wait", is_flag=True, help="Print the submission id and exit once the upload is accepted.")
@click.option("--timeout", type=click.FloatRange(1), default=3600, show_default=True,
              help="Seconds to wait for the result.")
def submit(path, server, token, json_file, no_wait, timeout) -> None:
    """Upload PATH (a folder, .zip or .tar.gz) to a netgrade service and show its result like `netgrade check`."""
    from .client import submit as run
    sys.exit(run(path, server, token, json_file, no_wait, timeout))
