"""The Python that programs under test run with.

The same interpreter as netgrade's, in a clean virtual environment without
packages of its own: starting it skips the ``.pth`` files of the grader's
environment (editable installs, certificate hooks...), which made every
program start two to three times slower.  Nothing importable is lost: the
folder that holds netgrade (and whatever is installed beside it) is on the
program's ``PYTHONPATH``, so reference programs import ``netgrade.protocols``
and a student's import of an installed package still works.

The environment is made once per interpreter and kept in the user's cache
folder (``$NETGRADE_CACHE`` or ``~/.cache/netgrade``).
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
import venv
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("NETGRADE_CACHE") or Path.home() / ".cache" / "netgrade")


def packages_dir() -> str:
    """The folder that holds the ``harness`` package (site-packages, or the checkout)."""
    import netgrade
    return str(Path(netgrade.__file__).resolve().parent.parent)


@functools.lru_cache(maxsize=1)
def program_python() -> str:
    """Path of the interpreter for programs; falls back to ``sys.executable``."""
    base = os.path.realpath(sys.executable)
    key = hashlib.sha256(f"{base}|{sys.version}".encode()).hexdigest()[:12]
    root = cache_dir() / f"python-{key}"
    exe = root / "bin" / "python3"
    if exe.exists() and os.stat(root).st_mode & 0o005 == 0o005:
        return str(exe)
    shutil.rmtree(root, ignore_errors=True)  # unusable (an older netgrade made it private)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".python-", dir=root.parent)
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(tmp)
        os.chmod(tmp, 0o755)  # programs run under other user ids and must read pyvenv.cfg
        try:
            os.rename(tmp, root)  # atomic: concurrent makers keep the first
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
        if exe.exists():
            return str(exe)
    except Exception:  # no venv module, read-only home...: the plain interpreter still works
        pass
    return sys.executable
