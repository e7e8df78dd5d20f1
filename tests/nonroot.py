"""Running netgrade as a real non-root user, for the tests that must see what such a user sees.

The user is ``ngtest`` (made with ``useradd -m`` where it is missing, as
``.ci/run`` would).  It gets a world-readable copy of this tree (and of
netgrade laid out as installed, on its PYTHONPATH) in a
temporary folder and the test's own Python: where that Python lives in a
folder the user cannot enter (``/root/.pyenv``), it is bound, read-only, at a
readable path inside a private mount namespace made for the command alone
(nothing changes on the machine).  The user stays an ordinary user: no
capability, no group of root's; the command runs through ``runuser``.
These tests need root to set this up, and skip without it.
"""
from __future__ import annotations

import atexit
import functools
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from layout import install_layout

USER = "ngtest"
ROOT = Path(__file__).resolve().parent.parent
COPIED = ("harness", "reference", "suites", "reports", "examples", "tests", "pyproject.toml")  # the checkout


def ensure_subids(user: str = USER, count: int = 65536) -> str:
    """Give ``user`` subordinate uids and gids where it has none, in a range no other entry uses."""
    ends, have = [100000], []
    for path in ("/etc/subuid", "/etc/subgid"):
        try:
            with open(path) as f:
                rows = [line.strip().split(":") for line in f if line.count(":") == 2]
        except FileNotFoundError:
            rows = []
        ends += [int(r[1]) + int(r[2]) for r in rows if r[1].isdigit() and r[2].isdigit()]
        have.append(any(r[0] == user for r in rows))
    if all(have):
        return f"{user} has subordinate ids"
    first = max(ends)
    rng = f"{first}-{first + count - 1}"
    subprocess.run(["usermod", "--add-subuids", rng, "--add-subgids", rng, user], check=True)
    return f"{user} got subordinate ids {rng}"


def _user_can_read(path: str) -> bool:
    return subprocess.run(["runuser", "-u", USER, "--", "test", "-r", path]).returncode == 0


@functools.lru_cache(maxsize=1)
def _setup() -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.skip("making a non-root user and running as it needs root")
    if shutil.which("runuser") is None:
        pytest.skip("runuser (util-linux) is not installed")
    if subprocess.run(["id", "-u", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", USER], check=True)
    if shutil.which("usermod") and shutil.which("newuidmap"):  # as .ci/run does: a range for its runs' uids
        ensure_subids()
    base = tempfile.mkdtemp(prefix="netgrade-nonroot-")
    atexit.register(shutil.rmtree, base, True)  # the user's files in it too (this process is root)
    os.chmod(base, 0o755)
    tree = os.path.join(base, "netgrade")
    os.mkdir(tree)
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, os.path.join(tree, name), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy(src, tree)
    lib = str(install_layout(Path(base, "lib")))  # what the user imports: netgrade, laid out as pip installs it
    # the base interpreter (a venv's python is a link to it; the user imports netgrade from `lib` anyway)
    prefix = os.path.realpath(sys.base_prefix)
    python = os.path.realpath(sys.executable)
    mount = None
    if not _user_can_read(python):
        mount = os.path.join(base, "python")
        os.mkdir(mount)
        where = python
        python = os.path.join(mount, os.path.relpath(where, prefix))  # bin/python3 inside the bound folder
        if python.startswith(os.path.join(mount, "..")):
            pytest.skip(f"{where} is outside {prefix}: cannot offer it to {USER}")
    # the command a student types: `netgrade` on PATH (what `pip install` would put there)
    bindir = os.path.join(base, "bin")
    os.mkdir(bindir)
    with open(os.path.join(bindir, "netgrade"), "w") as f:
        f.write(f"#!/bin/sh\nexec {shlex.quote(python)} -m netgrade \"$@\"\n")
    os.chmod(os.path.join(bindir, "netgrade"), 0o755)
    subprocess.run(["chmod", "-R", "a+rX", base], check=True)
    return {"base": base, "tree": tree, "lib": lib, "python": python, "prefix": os.path.realpath(prefix),
            "mount": mount or "", "bin": bindir}


def setup() -> dict[str, str]:
    """The user's copy of the tree, its python and its bin folder (``netgrade``)."""
    return _setup()


def join_docker_group() -> dict[str, str]:
    """Set the user up and make it a member of the ``docker`` group (skips where there is none); returns the
    environment that gives its netgrade the same image tag as root's (the wheelhouse)."""
    if subprocess.run(["getent", "group", "docker"], capture_output=True).returncode != 0:
        pytest.skip("no docker group on this machine")
    setup()
    subprocess.run(["usermod", "-aG", "docker", USER], check=True)
    return {"NETGRADE_WHEELS": os.environ.get("NETGRADE_WHEELS", "")}


def shared_folder(name: str) -> Path:
    """A fresh folder the non-root user can write, in the world-readable temporary folder."""
    d = Path(_setup()["base"], name)
    d.mkdir()
    subprocess.run(["chown", f"{USER}:{USER}", str(d)], check=True)
    return d


def run_as_user(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None,
                timeout: float = 600, shell: bool = False) -> subprocess.CompletedProcess:
    """Run ``argv`` (or, with ``shell``, the one string argv[0] with sh -e) as the non-root user."""
    s = _setup()
    home = subprocess.run(["sh", "-c", f"getent passwd {USER} | cut -d: -f6"], capture_output=True,
                          text=True).stdout.strip()
    lib = os.path.join(s["mount"] or s["prefix"], "lib")
    user_env = {"HOME": home, "USER": USER, "LOGNAME": USER, "LANG": "C.UTF-8",
                "PATH": f"{s['bin']}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                "PYTHONPATH": s["lib"], "LD_LIBRARY_PATH": lib, "PYTHONDONTWRITEBYTECODE": "1",
                **(env or {})}
    inner = ["runuser", "-u", USER, "--", "env", "-i", *[f"{k}={v}" for k, v in user_env.items()]]
    inner += ["sh", "-ec", argv[0]] if shell else argv
    if s["mount"]:
        cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
               'mount --bind -o ro "$1" "$2" && shift 2 && exec "$@"', "sh", s["prefix"], s["mount"], *inner]
    else:
        cmd = inner
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd or s["base"])


if __name__ == "__main__" and sys.argv[1:] == ["--subids"]:  # .ci/run, after making the user
    print(ensure_subids())
