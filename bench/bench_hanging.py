"""Benchmark: a submission where every program hangs.  Prints the wall time.

    python bench/bench_hanging.py [--jobs N]

Every program of the pack is replaced by one that never does its job: half
block forever on input, half spin in a busy loop.  Target (issue 21): <= 30 s
on 2 cores with the local runner.  Then, per program, its checks' durations
summed and its slowest checks: where the time goes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib import resources

BLOCK = "import time\nprint('starting...')\ninput()\ntime.sleep(3600)\n"
SPIN = "print('starting...')\nwhile True:\n    pass\n"


def build(sub: str) -> str:
    """A submission at ``sub`` whose every program hangs (every other one blocks, the rest spin)."""
    pack = tomllib.loads(resources.files("netgrade.packs").joinpath("default.toml").read_text("utf-8"))
    os.mkdir(sub)
    for i, prog in enumerate(pack["programs"].values()):
        with open(os.path.join(sub, prog["file"]), "w") as f:
            f.write(BLOCK if i % 2 == 0 else SPIN)
    return sub


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sub = build(os.path.join(tmp, "hanging"))
        out = os.path.join(tmp, "r.json")
        cmd = [sys.executable, "-m", "netgrade", "check", sub, "--json", out]
        if args.jobs:
            cmd += ["--jobs", str(args.jobs)]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        r = json.load(open(out))
        n = sum(len(p["checks"]) for p in r["programs"])
        passed = sum(c["status"] == "pass" for p in r["programs"] for c in p["checks"])
        print(f"hanging submission: {len(r['programs'])} programs, {n} checks, {passed} passed, "
              f"exit {proc.returncode}, wall {wall:.2f} s (target <= 30 s), cores {os.cpu_count()}")
        # where the time goes: each program's checks summed (what it costs serially) and its slowest ones
        print(f"  {'program':<20} {'checks':>6} {'sum s':>7}  slowest checks")
        for p in sorted(r["programs"], key=lambda p: -sum(c["duration_s"] for c in p["checks"])):
            durs = sorted(((c["duration_s"], c["id"]) for c in p["checks"]), reverse=True)
            top = ", ".join(f"{cid} {d:.1f}" for d, cid in durs[:3])
            print(f"  {p['id']:<20} {len(durs):>6} {sum(d for d, _ in durs):>7.1f}  {top}")
        total = sum(c["duration_s"] for p in r["programs"] for c in p["checks"])
        print(f"  checks' durations summed: {total:.1f} s over {wall:.1f} s of wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
