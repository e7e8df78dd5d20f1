"""Benchmark: every mutant round as one batch, local runner and the Docker runner's container mode.

    python bench/bench_mutant_rounds.py [--ways local docker-container] [--jobs N]

The class is tests/mutants graded in rounds (round i: the i-th mutant of each
program, one submission; tests/conftest.py ``mutant_rounds``), graded with
``netgrade batch --no-retry --no-similarity`` once per way, one way after the
other.  For each way: the batch's wall time, its ratio to local, and how many
rounds differ from their mutants' declarations (``round_mismatches``: 0 is
the local runner's verdicts).  tests/test_docker_container_mode.py grades
the container mode this way; the batch pays for its container once.  Target
(issue 17): <= 1.5 x local.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import mutant_rounds, round_mismatches, round_submission  # noqa: E402

WAYS = {"local": ["--runner", "local"], "docker-container": ["--runner", "docker", "--docker-mode", "container"]}


def grade(klass: Path, out: Path, way: str, jobs: int | None) -> float:
    cmd = [sys.executable, "-m", "netgrade", "batch", str(klass), "--out", str(out), *WAYS[way],
           "--no-retry", "--no-similarity"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{way}: the batch failed (exit {proc.returncode}): {proc.stderr[-1000:]}")
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ways", nargs="+", choices=list(WAYS), default=list(WAYS))
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    if "docker-container" in args.ways:
        from netgrade.docker import engine, image
        try:
            image.ensure_full(engine.connect())  # built before the timed run
        except engine.EngineError as exc:
            print(f"no Docker runner here: {exc}")
            return 2
    rounds = mutant_rounds()
    with tempfile.TemporaryDirectory() as tmp:
        klass, expected = Path(tmp, "rounds"), {}
        klass.mkdir()
        for i, mutants in enumerate(rounds):
            sub, _args, expected[i] = round_submission(Path(tmp, f"r{i}"), mutants)
            shutil.move(str(sub), klass / f"round{i:02d}")
        print(f"{sum(map(len, rounds))} mutants in {len(rounds)} rounds, one batch per way")
        walls = {}
        for way in args.ways:
            out = Path(tmp, f"out-{way}")
            walls[way] = grade(klass, out, way, args.jobs)
            bad = 0
            for i, mutants in enumerate(rounds):
                result = json.loads((out / f"round{i:02d}" / "result.json").read_text("utf-8"))
                bad += bool(result["status"] != "graded" or round_mismatches(result, mutants, expected[i]))
            ratio = f" ({walls[way] / walls['local']:.2f}x local)" if "local" in walls and way != "local" else ""
            print(f"  {way:<16} {walls[way]:7.1f} s{ratio}  rounds not as declared: {bad}  ({result['runner']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
