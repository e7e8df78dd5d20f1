"""Benchmark: the whole pack on the exported references, local runner and Docker runner side by side.

    python bench/bench_runners.py [--repeat K] [--jobs N]

Runs are interleaved (local, docker, local, docker...) so a change in the
machine's load hits both alike; each line is one run's wall time, the summary
gives the medians and their ratio.  Target (issue 7): docker <= 1.5 x local.
The grading image is built before the first timed run, so no run pays for it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(sub: str, out: str, runner: str, jobs: int | None) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "netgrade", "check", sub, "--json", out, "--runner", runner]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.monotonic()
    subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    with open(out) as f:
        return wall, json.load(f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    from netgrade.docker import engine, image
    try:
        client = engine.connect()
        image.ensure(client)
    except engine.EngineError as exc:
        print(f"no Docker runner here: {exc}")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        sub = os.path.join(tmp, "refs")
        subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", sub], check=True,
                       capture_output=True)
        walls: dict[str, list[float]] = {"local": [], "docker": []}
        print(f"whole pack on the exported references, {os.cpu_count()} cores, jobs {args.jobs or 'default'}")
        for i in range(args.repeat):
            for runner in ("local", "docker"):
                wall, r = run(sub, os.path.join(tmp, f"{runner}.json"), runner, args.jobs)
                walls[runner].append(wall)
                checks = sum(len(p["checks"]) for p in r["programs"])
                print(f"  run {i + 1} {runner:<6} {wall:6.2f} s  score {r['score']:g}/{r['max_score']:g}"
                      f"  {checks} checks")
        loc, dock = statistics.median(walls["local"]), statistics.median(walls["docker"])
        print(f"median: local {loc:.2f} s, docker {dock:.2f} s, ratio {dock / loc:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
