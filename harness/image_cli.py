"""`netgrade image`: the container images of the Docker runner."""
from __future__ import annotations

import sys

import click


def _die(message: str) -> None:
    click.echo(f"netgrade: {message}", err=True)
    sys.exit(2)


def _client():
    from .docker import engine
    try:
        return engine.connect()
    except engine.EngineError as exc:
        _die(str(exc))


@click.group()
def image() -> None:
    """Build and inspect the images `netgrade check --runner docker` grades in.

    The grading image is a base image with Python 3 plus netgrade's reference
    programs and run launcher; its tag changes with netgrade's code.  Where a
    registry can be reached, `netgrade image build` starts from python:3.12-slim;
    where none can, `netgrade image bootstrap` first makes a base from Debian's
    packages (debootstrap), then `netgrade image build --base netgrade-base:bookworm`.
    """


@image.command("build")
@click.option("--base", default=None, metavar="IMAGE",
              help="Base image with python3 and util-linux  [default: python:3.12-slim, or netgrade-base:bookworm "
                   "when that is the one here]")
@click.option("--full", is_flag=True,
              help="Also build netgrade-full, the image the container mode grades in (netgrade and its"
                   " dependencies on the grading image; from NETGRADE_WHEELS when set).")
def image_build(base, full) -> None:
    """Build the grading image for this version of netgrade (seconds: files are copied, nothing fetched)."""
    from .docker import engine
    from .docker import image as img
    client = _client()
    if base is None:  # what is here; else the default, pulled from a registry
        base = img.local_base(client) or img.DEFAULT_BASE
    try:
        tag = img.build(client, base, log=lambda m: click.echo(m, err=True))
        if full:
            click.echo(tag)
            tag = img.ensure_full(client, log=lambda m: click.echo(m, err=True))
    except engine.EngineError as exc:
        _die(str(exc))
    click.echo(tag)


@image.command("bootstrap")
@click.option("--suite", default="bookworm", show_default=True, help="Debian release to bootstrap.")
@click.option("--mirror", default=None, metavar="URL", help="Debian mirror (default: debootstrap's own).")
@click.option("--force", is_flag=True, help="Make it again even if netgrade-base:SUITE exists.")
def image_bootstrap(suite, mirror, force) -> None:
    """Make the base image netgrade-base:SUITE from Debian's packages (no registry needed; root, 1-2 min)."""
    from .docker import engine
    from .docker import image as img
    client = _client()
    tag = f"netgrade-base:{suite}"
    if img.have(client, tag) and not force:
        click.echo(tag)
        return
    try:
        tag = img.bootstrap(client, suite, mirror, log=lambda m: click.echo(m, err=True))
    except engine.EngineError as exc:
        _die(str(exc))
    click.echo(tag)


@image.command("status")
def image_status() -> None:
    """Say which images are here and whether the current grading image is built."""
    from .docker import image as img
    client = _client()
    tag = img.grader_tag()
    click.echo(f"grading image {tag}: {'built' if img.have(client, tag) else 'not built (netgrade image build)'}")
    for base in (img.DEFAULT_BASE, img.BOOTSTRAP_BASE):
        click.echo(f"base {base}: {'here' if img.have(client, base) else 'absent'}")


@image.command("clean")
def image_clean() -> None:
    """Remove every container netgrade made (graders that were killed leave some) and old grading images."""
    from .docker import engine
    from .docker import image as img
    client = _client()
    n = engine.remove_containers(client)
    current = img.grader_tag()
    old = 0
    for im in client.images.list(name=img.GRADER_REPO):
        if current not in im.tags:
            try:
                client.images.remove(im.id, force=True)
                old += 1
            except Exception:
                pass
    click.echo(f"removed {n} container(s) and {old} old grading image(s)")
