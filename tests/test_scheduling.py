"""A dead pytest-xdist worker never stops a grading run (netgrade.scheduling).

xdist 3.8's load-group scheduler can leave every worker idle after a worker
dies (its finished groups re-queued as empty units; a replacement worker
given one test waits for a second): the run never ends.  Here a pytest run
like the grader's (``--dist loadgroup``, netgrade's scheduler) has two of its
workers die mid-test; it must end, every test run (the two a worker died in
reported failed once, then run again and passed).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DYING = '''
import os, pathlib
import pytest

@pytest.mark.parametrize("i", range(6))
def test_many(i):
    mark = pathlib.Path(os.environ["NETGRADE_TEST_MARKS"]) / f"died-{i}"
    if i in (1, 4) and not mark.exists():  # the worker dies the first time, the next one passes
        mark.write_text("")
        os._exit(1)
'''


def test_a_run_whose_workers_die_ends_with_every_test_run(tmp_path: Path):
    (tmp_path / "test_dying.py").write_text(DYING)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "NETGRADE_TEST_MARKS": str(marks), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    for k in [k for k in env if k.startswith("PYTEST_XDIST_")]:
        del env[k]
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist.plugin",
             "-p", "netgrade.scheduling", "-n", "2", "--dist", "loadgroup", "-c", os.devnull,
             "--rootdir", str(tmp_path), str(tmp_path / "test_dying.py")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the run did not end after its workers died:\n{(exc.stdout or b'')[-2000:]!r}") \
            from None
    summary = proc.stdout.strip().splitlines()[-1]
    assert "6 passed" in summary and "2 failed" in summary, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in marks.iterdir()) == ["died-1", "died-4"]
