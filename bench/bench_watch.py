"""Benchmark: `netgrade check DIR --watch`, from a save to the re-grade's result on the terminal.

    python bench/bench_watch.py [--program udp-echo-server] [--repeat 7]

Our references are exported into a temporary folder and watched with ``--watch --program ID``.  Once the
first report is printed, the program's file is saved ``--repeat`` times (the reference with one comment
line changed, so every save is a real edit and every result full marks); after each save the bench waits
for the watch's lines (read as they come, no sleep): "re-grading" (the change seen, the program picked),
then "whole submission: ..." (the re-grade's result printed), then "watching" before the next save.
It prints the median, lowest and highest time from the write to each of those lines, beside the target:
a re-grade of one UDP/TCP program <= 0.5 s after the save.  For comparison, ``--cold`` times a fresh
``netgrade check DIR --program ID`` (a new process: imports, pytest, collection) as often.
"""
from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET_S = 0.5
DEADLINE_S = 300


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put((time.monotonic(), line.rstrip("\n")))
    lines.put((time.monotonic(), None))


def _until(lines: queue.Queue, text: str) -> float:
    """When the next line starting with ``text`` was read."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit(f"no line starting with {text!r} in {DEADLINE_S} s")
        try:
            at, line = lines.get(timeout=left)
        except queue.Empty:
            continue
        if line is None:
            raise SystemExit(f"the watch ended before {text!r}")
        if line.startswith(text):
            return at


def _figures(name: str, values: list[float]) -> str:
    return (f"{name}: median {statistics.median(values):.3f} s (lowest {min(values):.3f}, highest {max(values):.3f}),"
            f" target {TARGET_S} s")


def measure(program: str, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds from each of ``repeat`` saves of ``program``'s file to the re-grade's start and to its result."""
    env = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": ""}
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        sub = Path(tmp) / "sub"
        subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", str(sub)], check=True, env=env,
                       capture_output=True)
        from netgrade.pack import load
        target = sub / load(None).programs[program].file
        source = target.read_text("utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "netgrade", "check", str(sub), "--watch", "--program",
                                 program], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                start_new_session=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        seen, printed = [], []
        try:
            _until(lines, "watching ")
            for i in range(repeat):
                saved = time.monotonic()
                target.write_text(f"# save {i}\n" + source, "utf-8")
                seen.append(_until(lines, "re-grading ") - saved)
                printed.append(_until(lines, "whole submission: ") - saved)
                _until(lines, "watching ")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    return seen, printed


def cold_runs(program: str, count: int) -> list[float]:
    """Seconds of ``count`` fresh `netgrade check --program` runs on the exported references."""
    env = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": ""}
    cold = []
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        sub = Path(tmp) / "sub"
        subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", str(sub)], check=True, env=env,
                       capture_output=True)
        for _ in range(count):
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "netgrade", "check", str(sub), "--program", program], env=env,
                           capture_output=True, timeout=DEADLINE_S)
            cold.append(time.monotonic() - started)
    return cold


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="udp-echo-server")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cold", type=int, default=3, help="fresh `netgrade check --program ID` runs to time (0: none)")
    a = ap.parse_args()
    seen, printed = measure(a.program, a.repeat)
    cold = cold_runs(a.program, a.cold) if a.cold else []
    print(f"{a.program}, {a.repeat} saves, {os.cpu_count()} cores:")
    print("  " + _figures("save -> re-grade started", seen))
    print("  " + _figures("save -> re-grade's result printed", printed))
    if cold:
        print(f"  a fresh `netgrade check --program` (for comparison): median {statistics.median(cold):.3f} s"
              f" (lowest {min(cold):.3f}, highest {max(cold):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
