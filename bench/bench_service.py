"""Benchmark: a burst of submissions from a whole class against a real `netgrade serve`.

    python bench/bench_service.py [--count 50] [--workers 2] [--sample 3]

`count` roster students each upload one submission at once (udp-send only:
our reference, or one of tests/mutants/udp-send, alternating, so correct and
broken ones mix; broken ones are graded twice by the flaky guard, as in
`netgrade batch`).  Prints: none lost (every id accepted is graded), the
throughput (submissions per minute), p50/p95 of the wait from upload to
result, and the service's own overhead per submission: the time a leased
submission spends outside its grading process (from the lease to the stored
result, less the grading), beside the grading time of `netgrade check` on
`sample` of the same submissions.  The target: overhead <= 5 % of grading.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servicekit import Service, add_roster, init_course, poll  # noqa: E402

MUTANTS = sorted((ROOT / "tests" / "mutants" / "udp-send").glob("*.py"))
REFERENCE = ROOT / "reference" / "udp_send.py"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample", type=int, default=3, help="submissions also graded by `netgrade check`")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="netgrade-bench-service-"))
    try:
        students = [f"b{i:03d}" for i in range(a.count)]
        data = tmp / "data"
        init_course(data, None, "bench", "--program", "udp-send", "--runner", "local",
                    "--limits", '{"cooldown_s": 0}')
        tokens = add_roster(data, None, "bench", students, tmp)
        sources = {}
        for i, s in enumerate(students):
            src = REFERENCE if i % 2 == 0 or not MUTANTS else MUTANTS[(i // 2) % len(MUTANTS)]
            sources[s] = src.read_bytes() + f"\n# {s}\n".encode()
        svc = Service(data, None, workers=a.workers).start()
        try:
            def send(s: str) -> tuple[str, str, float]:
                with svc.client(tokens[s]) as c:
                    t0 = time.time()
                    r = c.post("/api/submissions", files=[("files", ("udp_send.py", sources[s]))])
                    r.raise_for_status()
                    return s, r.json()["id"], t0
            t_start = time.time()
            with ThreadPoolExecutor(16) as pool:
                sent = list(pool.map(send, students))
            print(f"{len(sent)} uploads accepted in {time.time() - t_start:.1f} s")
            teacher_ids = {sid for _, sid, _ in sent}
            db = data / "netgrade.db"

            def finished():
                con = sqlite3.connect(db)
                try:
                    n = con.execute("SELECT COUNT(*) FROM submissions WHERE state IN ('done', 'failed')").fetchone()[0]
                finally:
                    con.close()
                return n == len(sent)
            poll(finished, a.count * 300, interval=2, message="every submission graded")
            t_end = time.time()
        finally:
            svc.stop()
        con = sqlite3.connect(db)
        rows = con.execute("SELECT s.id, s.state, s.created_at, s.started_at, s.finished_at, g.seconds "
                           "FROM submissions s JOIN gradings g ON g.submission_id = s.id "
                           "AND g.attempt = s.result_attempt").fetchall()
        per_sub = dict(con.execute("SELECT submission_id, COUNT(*) FROM gradings GROUP BY submission_id"))
        con.close()
        lost = teacher_ids - {r[0] for r in rows}
        waits = [r[4] - r[2] for r in rows]
        overhead = [(r[4] - r[3]) - r[5] for r in rows]
        grading = [r[5] for r in rows]
        print(f"lost: {len(lost)}; graded more than once: {sum(1 for v in per_sub.values() if v > 1)}; "
              f"states: {sorted({r[1] for r in rows})}")
        print(f"throughput: {len(rows) / ((t_end - t_start) / 60):.2f} submissions/min with {a.workers} worker(s)")
        print(f"wait from upload to result: p50 {pct(waits, 0.5):.1f} s, p95 {pct(waits, 0.95):.1f} s")
        print(f"grading in the service: mean {statistics.mean(grading):.2f} s; the service's own overhead per "
              f"submission: mean {statistics.mean(overhead) * 1000:.0f} ms, p95 {pct(overhead, 0.95) * 1000:.0f} ms "
              f"({100 * statistics.mean(overhead) / statistics.mean(grading):.2f} % of grading)")
        checks = []
        for s in students[: a.sample]:
            d = tmp / "check" / s
            d.mkdir(parents=True)
            (d / "udp_send.py").write_bytes(sources[s])
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "netgrade", "check", str(d), "--program", "udp-send",
                            "--json", str(d / "r.json")], capture_output=True, timeout=600)
            checks.append(time.monotonic() - t0)
            json.loads((d / "r.json").read_text())
        if checks:
            print(f"`netgrade check` on {len(checks)} of them, one at a time: mean {statistics.mean(checks):.2f} s; "
                  f"the service's overhead is {100 * statistics.mean(overhead) / statistics.mean(checks):.2f} % of "
                  "that (target <= 5 %)")
        return 0 if not lost else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
