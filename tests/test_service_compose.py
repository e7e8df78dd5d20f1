"""examples/service/docker-compose.yml, as far as this machine can check it without an image registry.

``docker compose config`` (the plugin, or Debian's ``docker-compose``)
validates the file and resolves it; every netgrade command in it, and the
ones its comments tell an operator to run, is parsed by netgrade's own
command line (click, and the worker's argparse), so an option that does not
exist, a missing required one, or a bad value fails here; and every command
is one the README's service section documents.  Bringing the stack up needs
the ``postgres:15`` and ``python:3.12-slim`` images from a registry, which
this machine cannot reach: that is not tested (README says so).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "examples" / "service" / "docker-compose.yml"
DOCKERFILE = ROOT / "examples" / "service" / "Dockerfile"


def _compose() -> list[str] | None:
    if shutil.which("docker"):
        p = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def compose():
    cmd = _compose()
    if cmd is None:
        why = "neither `docker compose` nor docker-compose is installed (Debian: apt-get install docker-compose)"
        if os.environ.get("NETGRADE_REQUIRE_COMPOSE") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return cmd


def _config(compose: list[str]) -> dict:
    p = subprocess.run([*compose, "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=60,
                       cwd=ROOT, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"`{' '.join(compose)} config` refused the file: {p.stderr[-1500:]}"
    return yaml.safe_load(p.stdout)


def parse_netgrade(args: list[str]) -> str:
    """Parse ``netgrade ARGS`` as the CLI would, running nothing; returns the command's path ("serve init")."""
    from netgrade.cli import main as cli
    from netgrade.service import worker
    cmd: click.Command = cli
    ctx = cmd.make_context("netgrade", list(args))
    path: list[str] = []
    while isinstance(cmd, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            break
        name, sub, rest = cmd.resolve_command(ctx, rest)
        path.append(name)
        if path == ["serve", "worker"]:  # the worker's own options (argparse)
            worker.parser().parse_args(rest)
            break
        ctx = sub.make_context(name, rest, parent=ctx)
        cmd = sub
    return " ".join(path)


def _comment_commands() -> list[list[str]]:
    """The netgrade arguments of each `docker compose ... run --rm [OPTS] api ARGS` line of the comments."""
    text = "\n".join(line[1:] for line in COMPOSE.read_text("utf-8").splitlines() if line.startswith("#"))
    text = text.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if not re.match(r"\s*docker[ -]compose\b", line):
            continue  # prose
        words = shlex.split(line, comments=True)  # the "# last line: the token" notes
        if "run" not in words:
            continue
        rest = words[words.index("run") + 1:]
        while rest and rest[0].startswith("-"):  # run's own options: --rm, -v X
            rest = rest[2:] if rest[0] in ("-v", "--volume", "-e") else rest[1:]
        assert rest and rest[0] in ("api", "worker"), f"a run command of no netgrade service: {line}"
        out.append(rest[1:])
    return out


def _readme_service_section() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index("### The grading service")
    return text[start:text.index("\n## ", start)]


def test_compose_file_is_valid_and_its_commands_parse(compose, tmp_path):
    cfg = _config(compose)
    services = cfg["services"]
    assert set(services) == {"db", "api", "worker"}, sorted(services)
    assert services["db"]["image"].startswith("postgres:"), services["db"]
    for name in ("api", "worker"):
        assert services[name]["image"] == "netgrade-service", services[name]
        assert "db" in services[name]["depends_on"], services[name]
    # the API and the workers reach the same database (the API by NETGRADE_DB, the workers by --db)
    worker_cmd = services["worker"]["command"]
    db_url = worker_cmd[worker_cmd.index("--db") + 1]
    assert services["api"]["environment"]["NETGRADE_DB"] == db_url, (services["api"], worker_cmd)
    assert f"/{services['db']['environment']['POSTGRES_DB']}" in db_url
    ports = services["api"]["ports"]
    assert any(str(p).startswith("127.0.0.1:8000:") or (isinstance(p, dict) and p.get("host_ip") == "127.0.0.1")
               for p in ports), ports
    section = _readme_service_section()
    commands = {"api": services["api"]["command"], "worker": worker_cmd}
    # the operator's commands in the comments, with the files they name made here
    (tmp_path / "roster.csv").write_text("student_id,name\na1,Ann\n", "utf-8")
    for i, args in enumerate(_comment_commands()):
        commands[f"comment-{i}"] = [a.replace("/in/", f"{tmp_path}/") for a in args]
    assert len(commands) >= 4, commands  # api, worker, serve init, serve roster
    seen = {}
    for where, args in commands.items():
        try:
            path = parse_netgrade(args)
        except (click.ClickException, click.exceptions.Exit, SystemExit) as exc:
            raise AssertionError(f"{where}: `netgrade {' '.join(args)}` is refused by netgrade's CLI: {exc}") from None
        seen[where] = path
        assert f"netgrade {path}" in section, f"{where}: `netgrade {path}` is not in README's service section"
        for opt in (a.split("=")[0] for a in args if a.startswith("--")):
            assert re.search(re.escape(opt) + r"\b", section), \
                f"{where}: option {opt} of `netgrade {path}` is not in README's service section"
    assert sorted(set(seen.values())) == ["serve", "serve init", "serve roster", "serve worker"], seen


def test_parser_refuses_what_netgrade_refuses():
    """The check above can fail: a wrong option, a missing required one, a bad value."""
    for bad in (["serve", "--workrs", "2"], ["serve", "init"], ["serve", "--port", "0"]):
        with pytest.raises(click.ClickException):
            parse_netgrade(bad)
    with pytest.raises(SystemExit):
        parse_netgrade(["serve", "worker", "--runner", "podman", "--db", "x"])
    assert parse_netgrade(["serve", "worker", "--db", "postgresql://u@h/d"]) == "serve worker"


def test_dockerfile_installs_the_service():
    """The service image's Dockerfile installs netgrade with its service extra and runs netgrade."""
    text = DOCKERFILE.read_text("utf-8")
    assert re.search(r'pip install [^\n]*\[service\]', text), text
    assert 'ENTRYPOINT ["netgrade"]' in text, text
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms, text
