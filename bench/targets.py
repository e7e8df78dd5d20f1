"""Benchmark: every speed target of issue 21, each printed beside its measurement from this one run.

    python bench/targets.py [--repeat K] [--only NAME ...] [--jobs N]

NAME is one of: pack, program, watch, hanging, batch, docker, tftp, and profile
(not a target, only when named: bench/bench_profile.py's summary of where one
grading of the whole pack spends its time).  Each figure is
the median of ``--repeat`` runs (3 by default; the batch and the hanging
submission run once).  CPU-seconds are the user and system time of the whole
`netgrade check` process tree (the grader, its workers, the programs it ran),
as the kernel accounts them to waited-for children.  A target that cannot be
measured here (no Docker engine, no tftpd-hpa) says why instead of a figure.

These are figures, not tests: the machine's load changes them.  Run it on a
quiet machine (`uptime` prints the load it saw first).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: one program graded alone (`--program ID`), and its wall-time target in seconds
ONE_PROGRAM = {"udp-echo-server": 1.0, "udp-echo-client": 1.0, "tcp-chat-server": 1.0, "tcp-chat-client": 1.0,
               "tftp-server": 2.0, "tftp-client": 2.0, "framed-server": 2.0, "framed-client": 2.0}


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU-s of the process tree, exit status) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code


def check(sub: str, out: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "netgrade", "check", sub, "--json", out, *extra]


def full_marks(out: str) -> str:
    with open(out, encoding="utf-8") as f:
        r = json.load(f)
    return "" if r["score"] == r["max_score"] > 0 else f" (NOT full marks: {r['score']:g}/{r['max_score']:g})"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, target: str, seen: str, holds: bool | None) -> None:
        mark = "-" if holds is None else ("yes" if holds else "NO")
        self.rows.append((what, target, seen, mark))
        print(f"  {what:<44} target {target:<14} measured {seen:<28} holds {mark}", flush=True)

    def summary(self) -> int:
        met = sum(r[3] == "yes" for r in self.rows)
        measured = sum(r[3] != "-" for r in self.rows)
        print(f"{met} of {measured} measured targets hold ({len(self.rows) - measured} not measured here)")
        return 0


def median_of(runs: list[tuple[float, float, int]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def bench_pack(t: Table, tmp: str, refs: str, repeat: int, jobs: list[str]) -> None:
    out = os.path.join(tmp, "pack.json")
    runs = [timed(check(refs, out, *jobs)) for _ in range(repeat)]
    wall, cpu = median_of(runs)
    note = full_marks(out)
    t.add("whole pack, correct submission: wall", "<= 5 s", f"{wall:.2f} s{note}", wall <= 5.0 and not note)
    t.add("whole pack, correct submission: CPU", "<= 8 CPU-s", f"{cpu:.2f} CPU-s", cpu <= 8.0)


def bench_programs(t: Table, tmp: str, refs: str, repeat: int, jobs: list[str]) -> None:
    for pid, target in ONE_PROGRAM.items():
        out = os.path.join(tmp, f"{pid}.json")
        runs = [timed(check(refs, out, "--program", pid, *jobs)) for _ in range(repeat)]
        wall, cpu = median_of(runs)
        note = full_marks(out)
        t.add(f"one program alone: {pid}", f"<= {target:g} s", f"{wall:.2f} s, {cpu:.2f} CPU-s{note}",
              wall <= target and not note)


def bench_watch(t: Table, repeat: int) -> None:
    import bench_watch
    for pid in ("udp-echo-server", "tcp-chat-server"):
        _, printed = bench_watch.measure(pid, max(5, repeat))
        got = statistics.median(printed)
        t.add(f"--watch: a save to {pid}'s re-grade", "<= 0.5 s", f"{got:.2f} s (median of {len(printed)})",
              got <= 0.5)


def bench_hanging(t: Table, tmp: str, jobs: list[str]) -> None:
    import bench_hanging
    sub = bench_hanging.build(os.path.join(tmp, "hanging"))
    wall, cpu, _ = timed(check(sub, os.path.join(tmp, "hanging.json"), *jobs))
    t.add("every program hangs", "<= 30 s", f"{wall:.1f} s, {cpu:.1f} CPU-s", wall <= 30.0)


def bench_batch(t: Table, tmp: str, refs: str, count: int = 20) -> None:
    klass = os.path.join(tmp, "class")
    os.mkdir(klass)
    for i in range(count):
        shutil.copytree(refs, os.path.join(klass, f"s{i:02d}"))
    cmd = [sys.executable, "-m", "netgrade", "batch", klass, "--out", os.path.join(tmp, "batch-out")]
    wall, cpu, code = timed(cmd)
    rate = 60.0 * count / wall
    t.add(f"batch of {count} full correct submissions", ">= 12 /min",
          f"{rate:.1f} /min ({wall:.0f} s, exit {code})", rate >= 12.0 and code == 0)


def bench_docker(t: Table, tmp: str, refs: str, repeat: int, jobs: list[str]) -> None:
    from netgrade.docker import engine, image
    try:
        client = engine.connect()
        image.ensure(client)
    except engine.EngineError as exc:
        t.add("Docker runner / local runner, whole pack", "<= 1.2x", f"not measured: {exc}"[:60], None)
        return
    local, docker = [], []
    for _ in range(repeat):  # interleaved, so a busy moment hits both alike
        local.append(timed(check(refs, os.path.join(tmp, "l.json"), *jobs))[0])
        docker.append(timed(check(refs, os.path.join(tmp, "d.json"), "--runner", "docker", *jobs))[0])
    ratio = statistics.median(docker) / statistics.median(local)
    t.add("Docker runner / local runner, whole pack", "<= 1.2x",
          f"{ratio:.2f}x ({statistics.median(docker):.1f} / {statistics.median(local):.1f} s)", ratio <= 1.2)


def bench_tftp(t: Table, repeat: int) -> None:
    import bench_tftp
    times = bench_tftp.measure(10 * 1024 * 1024, repeat, 512)
    if isinstance(times, str):
        t.add("TFTP server / tftpd-hpa, 10 MiB, 512 B blocks", ">= 0.9x", f"not measured: {times}"[:60], None)
        return
    ratio = min(times["tftpd-hpa"]) / min(times["reference"])
    t.add("TFTP server / tftpd-hpa, 10 MiB, 512 B blocks", ">= 0.9x",
          f"{ratio:.2f}x ({10 / min(times['reference']):.1f} MiB/s)", ratio >= 0.9)


def bench_profile(jobs: list[str]) -> None:
    proc = subprocess.run([sys.executable, str(HERE / "bench_profile.py"), *jobs], capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    start = lines.index("where the time goes") if "where the time goes" in lines else None
    if start is None:
        print(f"  bench/bench_profile.py failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
        return
    for line in lines[start:]:
        if line.startswith("load average"):
            break
        print(f"  {line}", flush=True)


NAMES = ("pack", "program", "watch", "hanging", "batch", "docker", "tftp")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="+", choices=(*NAMES, "profile"), default=list(NAMES))
    ap.add_argument("--jobs", type=int, default=None, help="passed to every `netgrade check` (default: its own)")
    args = ap.parse_args()
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start, local runner unless said")
    t = Table()
    with tempfile.TemporaryDirectory() as tmp:
        refs = os.path.join(tmp, "refs")
        subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", refs], check=True,
                       capture_output=True)
        if "pack" in args.only:
            bench_pack(t, tmp, refs, args.repeat, jobs)
        if "program" in args.only:
            bench_programs(t, tmp, refs, args.repeat, jobs)
        if "watch" in args.only:
            bench_watch(t, args.repeat)
        if "hanging" in args.only:
            bench_hanging(t, tmp, jobs)
        if "batch" in args.only:
            bench_batch(t, tmp, refs)
        if "docker" in args.only:
            bench_docker(t, tmp, refs, args.repeat, jobs)
        if "tftp" in args.only:
            bench_tftp(t, args.repeat)
        if "profile" in args.only:
            bench_profile(jobs)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return t.summary()


if __name__ == "__main__":
    sys.exit(main())
