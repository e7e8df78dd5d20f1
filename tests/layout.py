"""netgrade's installed layout, made from this checkout without pip.

``pyproject.toml`` maps the design card's four folders onto one package
(``harness/`` is ``netgrade``, ``reference/`` is ``netgrade.reference``...).
An editable install serves that mapping through an import hook, which tools
that walk folders (import-linter) and processes with another ``sys.path`` (a
non-root user's copy) do not see; they get this copy instead: a folder that
holds ``netgrade/`` exactly as ``pip install .`` would lay it out.
"""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_dirs() -> dict[str, str]:
    """{package: folder of the checkout}, parents first."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    dirs = data["tool"]["setuptools"]["package-dir"]
    return dict(sorted(dirs.items(), key=lambda kv: kv[0].count(".")))


def install_layout(dest: Path) -> Path:
    """Copy the package into ``dest`` (``dest/netgrade/...``); returns ``dest``, the folder for sys.path."""
    dest.mkdir(parents=True, exist_ok=True)
    for package, folder in package_dirs().items():
        shutil.copytree(ROOT / folder, dest / package.replace(".", "/"), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


#: what a build leaves in a checkout: never part of a clean copy
_BUILD_LITTER = ("build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".tox", ".venv", ".pytest_cache",
                 "test-artifacts")


def clean_checkout(dest: Path) -> Path:
    """A copy of the checkout's tracked files (all files but build litter where there is no git) in ``dest``.

    What ``pip install .`` should see: setuptools builds in the source's
    ``build/`` folder, and two builds of one folder at once break each other.
    """
    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*_BUILD_LITTER))
        return dest
    for rel in filter(None, listed.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest
