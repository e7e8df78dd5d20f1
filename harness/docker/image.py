"""The grading image: what both containers of a grading run start from.

It is a base image with Python 3 and util-linux (``setpriv``, ``unshare``,
``prlimit``: Debian and the official ``python`` images have them), plus:

- ``/opt/netgrade/lib``: netgrade's ``harness`` and ``reference`` packages,
  for the reference programs that run in the grader's container;
- ``/opt/netgrade/launcher``: the run launcher (``harness/sandbox/launcher.c``)
  built statically on this machine, so it runs on any base.

Its tag carries a hash of what was copied in (``netgrade-grader:<hash>``), so
a changed reference program is never graded against an old image.  Building
it needs no network: nothing is downloaded, only files are copied.

Without a registry, ``bootstrap`` makes the base itself from Debian's
packages: ``debootstrap --variant=minbase --include=python3`` into a folder,
then ``docker import`` of that folder as ``netgrade-base:<suite>``.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Callable

from .engine import EngineError, short_error

DEFAULT_BASE = "python:3.12-slim"
BOOTSTRAP_SUITE = "bookworm"
BOOTSTRAP_BASE = f"netgrade-base:{BOOTSTRAP_SUITE}"
GRADER_REPO = "netgrade-grader"
LIB = "/opt/netgrade/lib"
LAUNCHER = "/opt/netgrade/launcher"
PACKAGES = ("harness", "reference")

Log = Callable[[str], None]


def _sources() -> list[tuple[str, Path]]:
    """(path inside lib/, file) for every file the image carries."""
    import netgrade
    root = Path(netgrade.__file__).resolve().parent.parent
    out = []
    for pkg in PACKAGES:
        for f in sorted((root / pkg).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix in (".py", ".c", ".toml"):
                out.append((str(f.relative_to(root)), f))
    return out


def grader_tag() -> str:
    """The grading image's tag for this version of netgrade's code."""
    h = hashlib.sha256()
    for rel, f in _sources():
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return f"{GRADER_REPO}:{h.hexdigest()[:12]}"


def _build_launcher(target: Path) -> None:
    from netgrade.sandbox import launch
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise EngineError("building the grading image needs a C compiler (cc) for the run launcher")
    source = Path(launch.__file__).with_name("launcher.c")
    proc = subprocess.run([cc, "-O2", "-Wall", "-static", "-o", str(target), str(source)],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise EngineError(f"cannot build the static launcher: {proc.stderr.strip()[-300:]}"
                          " (Debian: apt-get install libc6-dev)")


DOCKERFILE = """\
FROM {base}
COPY lib {lib}
COPY launcher {launcher}
RUN for t in python3 setpriv unshare prlimit sleep; do \\
      command -v $t >/dev/null || {{ echo "the base image lacks $t" >&2; exit 1; }}; done \\
 && python3 -m compileall -q {lib}
LABEL netgrade.base="{base}"
"""


def build(client, base: str = DEFAULT_BASE, log: Log = print) -> str:
    """Build the grading image on ``base``; returns its tag."""
    tag = grader_tag()
    with tempfile.TemporaryDirectory(prefix="netgrade-image-") as ctx:
        for rel, f in _sources():
            target = Path(ctx, "lib", rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
        _build_launcher(Path(ctx, "launcher"))
        Path(ctx, "Dockerfile").write_text(DOCKERFILE.format(base=base, lib=LIB, launcher=LAUNCHER))
        log(f"building {tag} on {base}")
        try:
            # no network while building: nothing is fetched, a base that is not
            # here already fails at once instead of reaching for a registry
            client.images.build(path=ctx, tag=tag, rm=True, forcerm=True, network_mode="none", pull=False)
        except Exception as exc:
            raise EngineError(f"cannot build the grading image on {base}: {short_error(exc)}"
                              + (" (no registry here? `netgrade image bootstrap` makes a base from Debian's"
                                 " packages)" if "pull" in str(exc) or "not found" in str(exc) else "")) from None
    return tag


def have(client, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except Exception:
        return False


def bootstrap(client, suite: str = BOOTSTRAP_SUITE, mirror: str | None = None, log: Log = print) -> str:
    """Make ``netgrade-base:<suite>`` from Debian's packages; returns its tag."""
    tag = f"netgrade-base:{suite}"
    if shutil.which("debootstrap") is None:
        raise EngineError("debootstrap is not installed (Debian: apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise EngineError("debootstrap needs root")
    with tempfile.TemporaryDirectory(prefix="netgrade-rootfs-") as tmp:
        root = os.path.join(tmp, "rootfs")
        cmd = ["debootstrap", "--variant=minbase", "--include=python3", suite, root]
        if mirror:
            cmd.append(mirror)
        log(f"debootstrap {suite} (a minute or two)")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise EngineError(f"debootstrap failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        log(f"importing {tag}")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(root, arcname=".")
        try:
            client.api.import_image_from_data(buf.getvalue(), repository="netgrade-base", tag=suite)
        except Exception as exc:
            raise EngineError(f"docker import failed: {short_error(exc)}") from None
    return tag


def local_base(client) -> str | None:
    """The base image already here: python:3.12-slim first, else the bootstrapped one; None if neither."""
    return next((b for b in (DEFAULT_BASE, BOOTSTRAP_BASE) if have(client, b)), None)


def ensure(client, log: Log = print) -> str:
    """The grading image's tag, built now (in seconds) if only the base is here."""
    tag = grader_tag()
    if have(client, tag):
        return tag
    base = local_base(client)
    if base is not None:
        return build(client, base, log)
    raise EngineError(f"the grading image {tag} is not built and no base image is here: run"
                      " `netgrade image build` (it pulls python:3.12-slim) or, offline,"
                      f" `netgrade image bootstrap && netgrade image build --base {BOOTSTRAP_BASE}`")
