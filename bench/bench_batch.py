"""Benchmark: batch grading throughput (submissions per minute) and the cached re-run.

    python bench/bench_batch.py [--count 20] [--jobs 1 2] [--program ID ...] [--all-programs]

The class: `count` mixed submissions: exported references (as folders, .zip
and .tar.gz), references with one program replaced by a mutant from
tests/mutants (their failing checks are graded twice: the flaky guard), and one
that hands in nothing.  For each --jobs value the batch is graded from scratch
(--force), then once more unchanged (everything cached).

By default only a few programs are graded (one UDP client, one UDP server, one
TCP server) so a run takes minutes, not a quarter of an hour; --all-programs
grades the whole pack.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netgrade.batch import BatchOptions, run_batch

DEFAULT_PROGRAMS = ["udp-send", "udp-echo-server", "tcp-thanks-server"]
MUTANTS = [("udp-send", "gbk.py", "udp_send.py"), ("udp-echo-server", "merges.py", "udp_echo_server.py"),
           ("tcp-thanks-server", None, "tcp_thanks_server.py")]


def build_class(root: Path, count: int) -> Path:
    refs = root / "refs"
    subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", str(refs)], check=True,
                   capture_output=True, cwd=ROOT)
    klass = root / "class"
    klass.mkdir()
    mutants = []
    for pid, name, target in MUTANTS:
        folder = ROOT / "tests" / "mutants" / pid
        if not folder.is_dir():
            continue
        files = sorted(folder.glob("*.py"))
        pick = folder / name if name and (folder / name).exists() else (files[0] if files else None)
        if pick is not None and (refs / target).exists():
            mutants.append((pick, target))
    for i in range(count):
        name = f"s{i:02d}"
        if i == count - 1:
            (klass / name).mkdir()  # hands in nothing
            continue
        if 0 < i <= len(mutants):
            src, target = mutants[i - 1]
            shutil.copytree(refs, klass / name)
            shutil.copyfile(src, klass / name / target)
            continue
        if i % 3 == 1:
            with zipfile.ZipFile(klass / f"{name}.zip", "w") as zf:
                for p in sorted(refs.iterdir()):
                    zf.write(p, p.name)
        elif i % 3 == 2:
            with tarfile.open(klass / f"{name}.tar.gz", "w:gz") as tf:
                for p in sorted(refs.iterdir()):
                    tf.add(p, arcname=p.name)
        else:
            shutil.copytree(refs, klass / name)
    return klass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--program", action="append", default=None)
    ap.add_argument("--all-programs", action="store_true")
    args = ap.parse_args()
    programs = [] if args.all_programs else (args.program or DEFAULT_PROGRAMS)
    with tempfile.TemporaryDirectory() as tmp:
        klass = build_class(Path(tmp), args.count)
        n = len(list(klass.iterdir()))
        print(f"{n} submissions; programs: {', '.join(programs) or 'all'}; cores {os.cpu_count()}; "
              f"load average {os.getloadavg()[0]:.1f}")
        for jobs in args.jobs:
            out = Path(tmp) / f"out-{jobs}"
            opts = BatchOptions(out=str(out), jobs=jobs, programs=programs, progress=False, force=True)
            t0 = time.monotonic()
            s = run_batch(str(klass), opts)
            wall = time.monotonic() - t0
            opts.force = False
            t1 = time.monotonic()
            s2 = run_batch(str(klass), opts)
            cached = time.monotonic() - t1
            print(f"--jobs {jobs}: {len(s.graded)} graded, {len(s.errors)} errors, "
                  f"{sum(len(v) for v in s.flaky.values())} flaky in {wall:.1f} s "
                  f"= {60 * n / wall:.1f} submissions/min; cached re-run ({len(s2.cached)} cached) {cached:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
