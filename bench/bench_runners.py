"""Benchmark: the whole pack on the exported references, local runner and Docker runner side by side.

    python bench/bench_runners.py [--repeat K] [--jobs N]

Three ways: ``local``, ``docker`` in its direct mode (two containers per
worker, entered from here) and ``docker-container`` (the whole grading inside
one container, as a non-root user or a remote engine gets it).  Runs are
interleaved (local, docker, docker-container, local...) so a change in the
machine's load hits all alike; each line is one run's wall time, the summary
gives the medians and their ratios to local.  Target (issues 7 and 17): each
Docker mode <= 1.5 x local.  The images are built before the first timed run,
so no run pays for them.
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


#: each way graded, and the options that ask for it
WAYS = {"local": ["--runner", "local"], "docker": ["--runner", "docker", "--docker-mode", "direct"],
        "docker-container": ["--runner", "docker", "--docker-mode", "container"]}


def run(sub: str, out: str, way: str, jobs: int | None) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "netgrade", "check", sub, "--json", out, *WAYS[way]]
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
        image.ensure_full(client)
    except engine.EngineError as exc:
        print(f"no Docker runner here: {exc}")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        sub = os.path.join(tmp, "refs")
        subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", sub], check=True,
                       capture_output=True)
        walls: dict[str, list[float]] = {way: [] for way in WAYS}
        print(f"whole pack on the exported references, {os.cpu_count()} cores, jobs {args.jobs or 'default'}")
        for i in range(args.repeat):
            for way in WAYS:
                wall, r = run(sub, os.path.join(tmp, f"{way}.json"), way, args.jobs)
                walls[way].append(wall)
                checks = sum(len(p["checks"]) for p in r["programs"])
                print(f"  run {i + 1} {way:<16} {wall:6.2f} s  score {r['score']:g}/{r['max_score']:g}"
                      f"  {checks} checks  ({r['runner']})")
        loc = statistics.median(walls["local"])
        print(f"median: local {loc:.2f} s" + "".join(
            f", {way} {statistics.median(walls[way]):.2f} s ({statistics.median(walls[way]) / loc:.2f}x)"
            for way in WAYS if way != "local") + " (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
