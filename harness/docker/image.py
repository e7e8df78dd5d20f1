"""The grading image: what both containers of a grading run start from.

It is a base image with Python 3 and util-linux (``setpriv``, ``unshare``,
``prlimit``: Debian and the official ``python`` images have them), plus:

- ``/opt/netgrade/reference``: our reference programs as standalone files
  (``netgrade.reffiles.export_files``), run in the grader's container with
  the base's Python and its standard library alone;
- ``/opt/netgrade/launcher``: the run launcher (``netgrade/sandbox/launcher.c``)
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
REFERENCES = "/opt/netgrade/reference"
LAUNCHER = "/opt/netgrade/launcher"

Log = Callable[[str], None]


def _sources() -> list[tuple[str, Path]]:
    """(path inside the build context, file) for every file the image carries or is built from."""
    from .. import reffiles
    from ..sandbox import launch
    out = [(f"reference/{name}", src) for name, src in reffiles.export_files().items()]
    out.append(("launcher.c", Path(launch.__file__).with_name("launcher.c")))
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
COPY reference {references}
COPY launcher {launcher}
RUN for t in python3 setpriv unshare prlimit sleep; do \\
      command -v $t >/dev/null || {{ echo "the base image lacks $t" >&2; exit 1; }}; done \\
 && python3 -m compileall -q {references}
LABEL netgrade.base="{base}"
"""


def build(client, base: str = DEFAULT_BASE, log: Log = print) -> str:
    """Build the grading image on ``base``; returns its tag."""
    tag = grader_tag()
    with tempfile.TemporaryDirectory(prefix="netgrade-image-") as ctx:
        for rel, f in _sources():
            if rel.startswith("reference/"):  # launcher.c is built below, not copied
                target = Path(ctx, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, target)
        _build_launcher(Path(ctx, "launcher"))
        Path(ctx, "Dockerfile").write_text(DOCKERFILE.format(base=base, references=REFERENCES, launcher=LAUNCHER))
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


# ------------------------------------------------------------------ the image for grading inside a container
#: the grading image plus netgrade itself, its dependencies and the network tools of the local sandbox
FULL_REPO = "netgrade-full"
SITE = "/opt/netgrade/site"
TOOLS = "/opt/netgrade/tools"
CACHE = "/var/cache/netgrade"
#: the local sandbox's network tools, copied from this machine with their libraries when the base lacks them
NETWORK_TOOLS = ("ip", "nft", "ss")
#: glibc's own libraries: never copied (the base's C library serves the copied tools)
_GLIBC = ("libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "libresolv.so", "ld-linux")


def _package_files() -> list[tuple[str, Path]]:
    """(path in netgrade's installed layout, file): netgrade as ``pip install`` lays it out.

    An editable install maps the checkout's folders onto the subpackages
    (harness/ is ``netgrade``, reference/ is ``netgrade.reference``...); each
    package's folder is walked where it is imported from.
    """
    import importlib
    out: dict[str, Path] = {}
    for package in ("netgrade", "netgrade.reference", "netgrade.suites", "netgrade.reports"):
        folder = Path(importlib.import_module(package).__file__).parent
        prefix = package.replace(".", "/")
        for f in sorted(folder.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                out[f"{prefix}/{f.relative_to(folder).as_posix()}"] = f
    return sorted(out.items())


def requirements() -> list[str]:
    """netgrade's runtime dependencies (no extras).

    From a wheelhouse (NETGRADE_WHEELS): as netgrade's metadata states them
    (the wheelhouse's names go into the tag).  Otherwise each is pinned to the
    version installed here, fetched by pip: the image grades with this
    machine's versions, and its tag changes when one of them does.
    """
    import re
    from importlib import metadata
    try:
        reqs = metadata.requires("netgrade") or []
    except metadata.PackageNotFoundError:
        raise EngineError("netgrade is not installed (its dependencies are unknown): pip install netgrade") from None
    out = []
    for r in reqs:
        if "extra ==" in r:
            continue
        if wheelhouse():
            out.append(r.split(";")[0].strip())
            continue
        name = re.match(r"[A-Za-z0-9._-]+", r).group(0)
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(r.split(";")[0].strip())
    return out


def wheelhouse() -> str | None:
    """A folder of wheels to install the dependencies from offline (NETGRADE_WHEELS), if there is one."""
    w = os.environ.get("NETGRADE_WHEELS")
    return w if w and os.path.isdir(w) else None


def _tool_files() -> list[tuple[str, Path]]:
    """(path in the build context, file) for each network tool of this machine and its libraries."""
    out: dict[str, Path] = {}
    for tool in NETWORK_TOOLS:
        path = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}", f"/usr/bin/{tool}")
                                           if os.path.exists(p)), None)
        if path is None:
            continue  # the base may have it; the build checks
        out[f"tools/bin/{tool}"] = Path(os.path.realpath(path))
        try:
            proc = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        for line in proc.stdout.splitlines():
            name, _, rest = line.strip().partition(" => ")
            lib = rest.split(" (")[0].strip()
            if lib.startswith("/") and not any(name.startswith(g) for g in _GLIBC):
                out[f"tools/lib/{name}"] = Path(os.path.realpath(lib))
    return sorted(out.items())


def full_tag() -> str:
    """The tag of the image netgrade grades in, inside a container, for this version of netgrade.

    A hash of everything it is made of: the grading image's tag, netgrade's
    files, its dependencies (the wheels' names where a wheelhouse is used), and
    the network tools copied in.
    """
    h = hashlib.sha256(grader_tag().encode() + b"\0" + FULL_DOCKERFILE.encode() + b"\0")
    for rel, f in _package_files() + _tool_files():
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    h.update("\n".join(requirements()).encode() + b"\0")
    w = wheelhouse()
    if w:
        h.update("\n".join(sorted(os.listdir(w))).encode())
    return f"{FULL_REPO}:{h.hexdigest()[:12]}"


FULL_DOCKERFILE = """\
FROM {grader}
COPY site {site}
COPY tools {tools}
RUN for t in {network_tools}; do \\
      command -v $t >/dev/null && continue; \\
      [ -x {tools}/bin/$t ] || {{ echo "neither the base image nor this machine has $t" >&2; exit 1; }}; \\
      printf '#!/bin/sh\\nLD_LIBRARY_PATH={tools}/lib exec {tools}/bin/%s "$@"\\n' $t > /usr/local/sbin/$t; \\
      chmod 755 /usr/local/sbin/$t; done \\
 && command -v mount >/dev/null \\
 && PYTHONPATH={site} python3 -m netgrade --version \\
 && python3 -m compileall -q {site} \\
 && mkdir -p {cache} && PYTHONPATH={site} NETGRADE_CACHE={cache} python3 -c \\
    "import shutil; from netgrade.sandbox import launch; import hashlib, pathlib; \\
     src = pathlib.Path(launch.__file__).with_name('launcher.c').read_bytes(); \\
     shutil.copy2('{launcher}', '{cache}/launch-' + hashlib.sha256(src).hexdigest()[:12])" \\
 && PYTHONPATH={site} NETGRADE_CACHE={cache} python3 -c \\
    "from netgrade.sandbox.launch import launcher_binary; assert launcher_binary(), 'no launcher'"
# the sandbox launcher (built statically on the machine that built the image) is in the cache, where the
# local sandbox looks for it: the image needs no C compiler
ENV PYTHONPATH={site} PYTHONDONTWRITEBYTECODE=1 NETGRADE_CACHE={cache}
LABEL netgrade.image="full"
"""


def _install_site(site: Path) -> None:
    """netgrade's dependencies (pip, from the wheelhouse when there is one) and netgrade itself into ``site``."""
    import sys
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile",
           "--target", str(site), "--only-binary", ":all:"]
    w = wheelhouse()
    if w:
        cmd += ["--no-index", "--find-links", w]
    cmd += requirements()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise EngineError("cannot gather netgrade's dependencies for the image"
                          f" ({'NETGRADE_WHEELS=' + w if w else 'pip, from the index'}):"
                          f" {(proc.stderr or proc.stdout).strip()[-300:]}")
    for rel, f in _package_files():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def build_full(client, log: Log = print) -> str:
    """Build the image for grading inside a container (on the grading image, built first if need be)."""
    tag = full_tag()
    grader = ensure(client, log)
    with tempfile.TemporaryDirectory(prefix="netgrade-image-") as ctx:
        log(f"gathering netgrade and its dependencies for {tag}")
        _install_site(Path(ctx, "site"))
        Path(ctx, "tools", "bin").mkdir(parents=True)
        Path(ctx, "tools", "lib").mkdir()
        for rel, f in _tool_files():
            shutil.copy2(f, Path(ctx, rel))
        Path(ctx, "Dockerfile").write_text(FULL_DOCKERFILE.format(
            grader=grader, site=SITE, tools=TOOLS, cache=CACHE, launcher=LAUNCHER, network_tools=" ".join(NETWORK_TOOLS)))
        log(f"building {tag} on {grader}")
        try:  # no network here either: everything is in the context
            client.images.build(path=ctx, tag=tag, rm=True, forcerm=True, network_mode="none", pull=False)
        except Exception as exc:
            raise EngineError(f"cannot build the image {tag}: {short_error(exc)}") from None
    return tag


def ensure_full(client, log: Log = print) -> str:
    """The tag of the image for grading inside a container, built now if it is not here."""
    tag = full_tag()
    return tag if have(client, tag) else build_full(client, log)
