"""Benchmark: grade the exported reference submission; print wall time per program and in total.

    python bench/bench_pack.py [--jobs N] [--runner local|docker] [--repeat K]

Per program it prints the sum of its checks' durations (what the program
costs, serially) and its slowest check; the total is the wall time of the
whole `netgrade check` run, which overlaps checks.  Target (issue 21): the whole
pack in <= 5 s on 2 cores with the local runner (bench/targets.py prints it beside the others).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--runner", default="local")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sub = os.path.join(tmp, "refs")
        subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", sub], check=True,
                       capture_output=True)
        for i in range(args.repeat):
            out = os.path.join(tmp, "r.json")
            cmd = [sys.executable, "-m", "netgrade", "check", sub, "--json", out, "--runner", args.runner]
            if args.jobs:
                cmd += ["--jobs", str(args.jobs)]
            t0 = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.monotonic() - t0
            r = json.load(open(out))
            print(f"run {i + 1}: exit {proc.returncode}, score {r['score']:g}/{r['max_score']:g}, "
                  f"runner {args.runner}, jobs {args.jobs or 'default'}, cores {os.cpu_count()}")
            print(f"  {'program':<20} {'checks':>6} {'sum of checks s':>16} {'slowest check':>28}")
            for p in r["programs"]:
                durs = [(c["duration_s"], c["id"]) for c in p["checks"]]
                slow = max(durs) if durs else (0.0, "-")
                print(f"  {p['id']:<20} {len(durs):>6} {sum(d for d, _ in durs):>16.2f} "
                      f"{slow[1][:18]:>20} {slow[0]:6.2f}")
            print(f"  total wall time: {wall:.2f} s (grader's own figure: {r['duration_s']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
