"""The layers of ARCHITECTURE.md hold: import-linter's contracts (pyproject.toml) are kept.

An import from a layer into one above it (or from the engine's lower layers
into the course content) breaks a contract, and this test names it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from layout import install_layout

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(tmp_path):
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed: pip install -e '.[test]' (import-linter)")
    # lint-imports walks the package's folders: give it the installed layout (an editable install's import
    # hook maps netgrade.reference etc. from other folders, which it would not see), with the same contracts
    lib = install_layout(tmp_path / "lib")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    env = {**os.environ, "PYTHONPATH": str(lib)}
    proc = subprocess.run([exe, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def _ruff() -> str:
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(exe).exists():
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    return exe


def test_pyflakes_rules_find_nothing():
    """pyflakes' rules (ruff's F, configured in pyproject.toml) over the project's own code: no unused or
    shadowed import, no undefined name.  The student-like samples (mutants, variants) are left out."""
    proc = subprocess.run([_ruff(), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_pyflakes_rules_catch_a_shadowed_import(tmp_path):
    """What app.py once did (0af1a17): a second import under the same name hid the first, and a refusal
    said "('queued', 'running')".  The check above must see it."""
    bad = tmp_path / "shadow.py"
    bad.write_text("from os import sep as PENDING\nfrom os import pathsep as PENDING\nprint(PENDING)\n")
    proc = subprocess.run([_ruff(), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
                           "--output-format", "concise", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "F811" in proc.stdout, proc.stdout + proc.stderr
