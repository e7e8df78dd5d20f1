"""Benchmark: the class similarity of `netgrade batch` for a class of 200 (it prints figures).

    python bench/bench_similarity.py [--count 200]

The class: `count` synthetic submissions of all 18 programs.  Each program of
each submission is one of: a seed program of the notes (with the student's
own comments), a mutant from tests/mutants, a realistic student program from
tests/realistic, or a reference disguised as tests/test_similarity.py does
(renamed, reformatted, re-commented); every tenth submission copies another
one's programs, disguised again.  Timed: the shipped base (seeds and
references) fingerprinted, then `copycheck.class_pairs` over the class, as
`netgrade batch` runs it after grading; plus one `annotate_result` per
program (the reference-copy notice of one submission).  Reading the
submissions' files is not timed (the batch reads what it has just graded).
Compare with grading: the whole pack takes ~9.5 s per submission (README).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from netgrade import copycheck  # noqa: E402
from netgrade import similarity as sim  # noqa: E402
from netgrade.pack import load  # noqa: E402
from netgrade.seedcode import seed_programs  # noqa: E402
from test_similarity import disguise  # noqa: E402


def make_class(count: int, pack, rnd: random.Random) -> dict[str, dict[str, str]]:
    seeds = [s["code"] for s in seed_programs()]
    sources: dict[str, dict[str, str]] = {pid: {} for pid in pack.programs}
    for i in range(count):
        name = f"student{i:03d}"
        for pid, prog in pack.programs.items():
            pool = sorted((ROOT / "tests" / "mutants" / pid).glob("*.py"))
            real = ROOT / "tests" / "realistic" / "submission" / prog.file
            kind = rnd.random()
            if i % 10 == 9 and i > 0:  # a copy of an earlier student's program, disguised
                donor = sources[pid][f"student{rnd.randrange(i):03d}"]
                try:
                    text = disguise(donor, i)
                except SyntaxError:
                    text = donor + "\n# mine\n"
            elif kind < 0.3:
                text = rnd.choice(seeds) + f"\n# {name}\n"
            elif kind < 0.6 and pool:
                text = sim.decode(rnd.choice(pool).read_bytes())
            elif kind < 0.8 and real.is_file():
                text = sim.decode(real.read_bytes())
            else:
                text = disguise((ROOT / "reference" / prog.file).read_text("utf-8"), i)
            sources[pid][name] = text
    return sources


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    pack = load()
    rnd = random.Random(15)
    sources = make_class(args.count, pack, rnd)
    lines = sum(len(t.splitlines()) for by in sources.values() for t in by.values())
    print(f"class: {args.count} submissions x {len(sources)} programs, {lines} lines of code")

    t0 = time.perf_counter()
    base = sim.base_hashes(copycheck.base_sources(pack))
    t1 = time.perf_counter()
    pairs = copycheck.class_pairs(sources, pack, base)
    t2 = time.perf_counter()
    print(f"base: {len(base)} fingerprints in {t1 - t0:.2f} s")
    print(f"class pairs: {t2 - t1:.2f} s for {args.count} submissions "
          f"({1000 * (t2 - t1) / args.count:.1f} ms per submission), {len(pairs)} pairs listed")
    per_prog: dict[str, int] = {}
    for p in pairs:
        per_prog[p.program] = per_prog.get(p.program, 0) + 1
    print("pairs per program: " + ", ".join(f"{k} {v}" for k, v in sorted(per_prog.items())))

    one = {pid: by["student000"] for pid, by in sources.items()}
    t3 = time.perf_counter()
    for pid, text in one.items():
        sim.compare(sim.fingerprint(text), sim.fingerprint((ROOT / "reference" / pack.programs[pid].file).read_text()))
    t4 = time.perf_counter()
    print(f"reference notice, one submission (18 programs): {1000 * (t4 - t3):.0f} ms")
    total = t2 - t0
    print(f"similarity of the whole class: {total:.1f} s, against ~{9.5 * args.count / 60:.0f} min of grading "
          f"at 9.5 s per submission ({100 * total / (9.5 * args.count):.2f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
