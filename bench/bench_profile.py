"""Benchmark: where one grading's time goes (issue 21: fixed cost, per-check cost, sandbox and launch, waits).

    python bench/bench_profile.py [--program ID ...] [--jobs N] [--launches N]

Grades the exported references once (the whole pack, or ``--program ID``)
with `netgrade check` in a process of its own, entered through the CLI's own
entry point with one observing pytest plugin added (``DRIVER`` below).  The
observer reads clocks, ``getrusage`` and, just before the grader kills a
program still running, that program's CPU time (psutil, a few /proc reads);
it changes nothing the engine decides or reports.  Then it prints:

- the whole run: wall, and CPU-seconds of its process tree: the kernel's
  accounting of waited-for children (bench/targets.py's figure), plus the
  programs killed at their checks' end, which that accounting never sees
  (killing a run's launcher reparents its processes away from the grader, so
  no wait counts them);
- the fixed cost before the first check, from this run's own timestamps and
  the grading process's CPU at each (interpreter, imports, the CLI's work,
  pytest start-up, collection, the fork of the pool), and beside it
  `python -c pass` and `python -c "import netgrade.cli"` (median of 3);
- per check: its wall (pytest's setup, call and teardown phases, from the
  reports pytest already makes) and its CPU (the check's forked child, and
  separately its programs: the launchers, the program, our references), the
  top 10 by wall, the sum of the checks' walls against the run's checking
  time (how much the pool overlaps) and the time with k checks running;
- what every check pays, measured here outside a grading (median of
  ``--launches``): a sandbox opened and closed (``LocalRunner.open_sandbox``),
  one ``print(1)`` launched in it to its first line of output, and the same
  command outside any sandbox; beside it, from this run's evidence, the time
  from each program's start to its first output;
- the waits: checks whose wall is mostly not CPU, and how much of the checks'
  wall their main thread spent waiting for a CPU (schedstat) rather than
  sleeping;
- a short "where the time goes" summary, every figure from this run.

These are figures, not tests: the machine's load changes them (``uptime``'s
load average is printed first and last).  Needs what `netgrade check` needs
(root or user namespaces); the sandbox figures need network namespaces.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

#: The grading process: `netgrade check ARGS` through ``netgrade.cli.main``, as `python -m netgrade` runs it,
#: with an observer plugin appended to the plugins grading passes to ``pytest.main``.  The observer only reads
#: clocks and rusage: at the CLI's and pytest's milestones in the grading process, and around each check's
#: ``pytest_runtest_protocol`` in the forked child that runs it (one JSON line per check, appended to a file).
DRIVER = r"""
import time
T0 = time.monotonic()
import json, os, resource, sys

OUT, ARGS = sys.argv[1], sys.argv[2:]
MAIN = os.getpid()
marks, reports = [], []


def cpu(who=resource.RUSAGE_SELF):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def mark(name):
    marks.append((name, time.monotonic(), cpu()))


def runq_ns():
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


marks.append(("interpreter started", T0, cpu()))
import netgrade.cli
mark("netgrade.cli imported")
from netgrade import grading  # what `check` imports first (pytest with it)
import pytest
mark("netgrade.grading and pytest imported")


class ForkMarks:
    @pytest.hookimpl(trylast=True)  # after netgrade.plugin's: the runner is made
    def pytest_netgrade_before_forks(self, config):
        mark("runner made (pytest_netgrade_before_forks)")


class Observer:
    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        mark("pytest configured (plugins loaded)")
        # the fork hook is declared by then (forking.py's pytest_addhooks), when the checks run in forks; an
        # implementation registered before its declaration would keep forking.add_hooks from declaring it
        hook = getattr(config.pluginmanager.hook, "pytest_netgrade_before_forks", None)
        if hook is not None and getattr(hook, "spec", None) is not None:
            config.pluginmanager.register(ForkMarks(), "netgrade-profile-forks")

    def pytest_collection_finish(self, session):
        mark(f"collected {len(session.items)} checks")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session):
        mark("the run loop starts")
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        t0, s0, c0, k0, q0 = time.monotonic(), cpu(), cpu(resource.RUSAGE_CHILDREN), killed_cpu[0], runq_ns()
        yield
        t1, s1, c1, k1, q1 = time.monotonic(), cpu(), cpu(resource.RUSAGE_CHILDREN), killed_cpu[0], runq_ns()
        line = json.dumps({"nodeid": item.nodeid, "pid": os.getpid(), "t0": t0, "t1": t1, "self_cpu": s1 - s0,
                           "children_cpu": c1 - c0, "killed_cpu": k1 - k0,
                           "runq_s": None if q0 is None else (q1 - q0) / 1e9})
        fd = os.open(OUT + ".checks", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def pytest_runtest_logreport(self, report):
        if os.getpid() != MAIN:
            return  # a forked child: the grading process gets the same report over its pipe
        key = None
        for name, value in report.user_properties:
            if name == "netgrade":
                rec = json.loads(value)
                key = f"{rec['program']}/{rec['check']['id']}"
        reports.append({"nodeid": report.nodeid, "when": report.when, "duration": report.duration,
                        "outcome": report.outcome, "key": key})

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        if os.getpid() == MAIN:
            mark("checks done (pytest session ends)")


observer = Observer()
# A program still running when its check ends is killed with its launcher (ProgramRun.kill): the launcher's
# pid namespace goes, and its processes are reparented away from this tree, so no wait counts their CPU (nor
# the kernel's accounting of this run's tree).  Read it, as psutil reads it, just before each such kill.
import psutil
from netgrade.sandbox import process as sandbox_process
killed_cpu = [0.0]
_kill = sandbox_process.ProgramRun.kill


def observed_kill(self):
    if self.proc.poll() is None:
        for pid in sandbox_process.descendants(self.proc.pid):
            try:
                t = psutil.Process(pid).cpu_times()
                killed_cpu[0] += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
    return _kill(self)


sandbox_process.ProgramRun.kill = observed_kill
spawned = []  # when the grading process forked each child of the pool (forking.py), after the fork
from netgrade import forking
_spawn = forking.ForkScheduler._spawn


def observed_spawn(self):
    _spawn(self)
    spawned.append(time.monotonic())
    if len(spawned) == 1:
        marks.append(("first child forked (gc, freeze, fork)", spawned[0], cpu()))


forking.ForkScheduler._spawn = observed_spawn
run_pytest, grade = grading.run_pytest, grading.grade


def observed_run_pytest(args, plugins):
    mark("pytest.main called")
    try:
        return run_pytest(args, [*plugins, observer])
    finally:
        mark("pytest.main returned")


def observed_grade(*a, **kw):
    mark("grade() called (pack loaded)")
    try:
        return grade(*a, **kw)
    finally:
        mark("grade() returned")


grading.run_pytest, grading.grade = observed_run_pytest, observed_grade
code = 0
try:
    netgrade.cli.main(ARGS, prog_name="netgrade")
except SystemExit as exc:
    code = exc.code
finally:
    if os.getpid() == MAIN:
        mark("outputs written, exiting")
        with open(OUT, "w") as f:
            json.dump({"marks": marks, "reports": reports, "spawned": spawned, "pid": MAIN, "exit": code}, f)
sys.exit(code)
"""


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def ms(s: float) -> str:
    return f"{s * 1000:.0f} ms"


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def timed_cmd(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and median CPU-s (process tree) of ``repeat`` runs of ``cmd``."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = cpu_children(), time.monotonic()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.monotonic() - t0)
        cpus.append(cpu_children() - c0)
    return med(walls), med(cpus)


# ------------------------------------------------------------------ the grading

def graded_run(tmp: str, refs: str, args: argparse.Namespace) -> dict:
    out = os.path.join(tmp, "observed.json")
    result = os.path.join(tmp, "result.json")
    argv = ["check", refs, "--json", result]
    for pid in args.program or []:
        argv += ["--program", pid]
    if args.jobs:
        argv += ["--jobs", str(args.jobs)]
    c0, t0 = cpu_children(), time.monotonic()
    proc = subprocess.run([sys.executable, "-c", DRIVER, out, *argv], cwd=tmp, capture_output=True, text=True)
    t1 = time.monotonic()
    tree_cpu = cpu_children() - c0
    if not os.path.exists(out):
        sys.exit(f"the grading did not finish (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
    with open(out, encoding="utf-8") as f:
        obs = json.load(f)
    checks = []
    if os.path.exists(out + ".checks"):
        with open(out + ".checks", encoding="utf-8") as f:
            checks = [json.loads(line) for line in f if line.strip()]
    with open(result, encoding="utf-8") as f:
        res = json.load(f)
    if res["status"] != "graded":
        sys.exit(f"the grading ended with status {res['status']}: {res['message'][-800:]}")
    return {"spawned": t0, "ended": t1, "tree_cpu": tree_cpu, "exit": proc.returncode, "obs": obs,
            "checks": checks, "result": res}


def per_check(run: dict) -> list[dict]:
    """One row per check: its key, phases' walls (pytest's reports), protocol wall and CPU (the observer)."""
    phases: dict[str, dict] = {}
    for rep in run["obs"]["reports"]:
        row = phases.setdefault(rep["nodeid"], {"setup": 0.0, "call": 0.0, "teardown": 0.0, "key": None})
        if rep["when"] in ("setup", "call", "teardown"):
            row[rep["when"]] += rep["duration"] or 0.0
        if rep["key"]:
            row["key"] = rep["key"]
    durations = {f"{p['id']}/{c['id']}": c["duration_s"] for p in run["result"]["programs"] for c in p["checks"]}
    rows = []
    for c in run["checks"]:
        ph = phases.get(c["nodeid"], {"setup": 0.0, "call": 0.0, "teardown": 0.0, "key": None})
        key = ph["key"] or c["nodeid"]
        rows.append({"key": key, "pid": c["pid"], "t0": c["t0"], "t1": c["t1"], "wall": c["t1"] - c["t0"],
                     "setup": ph["setup"], "call": ph["call"], "teardown": ph["teardown"],
                     "self_cpu": c["self_cpu"], "waited_cpu": c["children_cpu"], "killed_cpu": c["killed_cpu"],
                     "children_cpu": c["children_cpu"] + c["killed_cpu"],
                     "cpu": c["self_cpu"] + c["children_cpu"] + c["killed_cpu"], "runq": c["runq_s"],
                     "duration_s": durations.get(key)})
    return rows


def concurrency(rows: list[dict]) -> dict[int, float]:
    """Seconds of the checking span during which k checks were running, for each k."""
    edges = sorted([(r["t0"], 1) for r in rows] + [(r["t1"], -1) for r in rows])
    out: dict[int, float] = {}
    running, prev = 0, edges[0][0]
    for t, step in edges:
        out[running] = out.get(running, 0.0) + (t - prev)
        running, prev = running + step, t
    if out.get(0, 1.0) < 0.001:
        del out[0]
    return out


def program_starts(res: dict) -> int:
    """How many programs the checks started (their evidence's start events: the program and our references)."""
    return sum(e["kind"] == "start" for p in res["programs"] for c in p["checks"]
               for e in c["evidence"].get("events", []))


def starts_to_first_output(res: dict) -> list[float]:
    """From the result's evidence: each program's start event to its first stdout/stderr event."""
    gaps = []
    for p in res["programs"]:
        for c in p["checks"]:
            started: dict[str, float] = {}
            for e in c["evidence"].get("events", []):
                who = e.get("who")
                if e["kind"] == "start" and who is not None:
                    started[who] = e["t"]
                elif e["kind"] in ("stdout", "stderr") and who in started:
                    gaps.append(e["t"] - started.pop(who))
    return gaps


# ------------------------------------------------------------------ what every check pays

def sandbox_costs(tmp: str, n: int) -> dict:
    """Median wall and CPU of opening and closing a sandbox, and of a ``print(1)`` launched in one to its first
    line; the same command outside any sandbox.  Run in this process, as tests/test_sandbox.py opens them."""
    from netgrade.evidence import Evidence
    from netgrade.pack import load
    from netgrade.runner import LocalRunner, make_workbase
    from netgrade.sandbox.netns import namespace_support
    from netgrade.sandbox.python import program_python
    support = namespace_support()
    if support != "netns":
        return {"why": f"network namespaces unavailable here ({support})"}
    py = program_python()
    cmd = [py, "-c", "print(1)"]
    base = os.path.join(tmp, "sandboxes")
    os.makedirs(base)
    pack = load()
    runner = LocalRunner(make_workbase(base), pack.limits, pack.lab_addresses)
    out: dict[str, list[float]] = {k: [] for k in ("open", "open_cpu", "close", "close_cpu", "launch",
                                                   "launch_cpu", "launch_exit", "close_run", "bare", "bare_cpu",
                                                   "bare_exit")}

    def cpu() -> float:
        return cpu_self() + cpu_children()

    try:
        runner.open_sandbox(Evidence()).close()  # the first one pays one-time costs (imports, the uid table)
        for _ in range(n):
            c0, t0 = cpu(), time.monotonic()
            box = runner.open_sandbox(Evidence())
            c1, t1 = cpu(), time.monotonic()
            box.close()
            out["open"].append(t1 - t0)
            out["open_cpu"].append(c1 - c0)
            out["close"].append(time.monotonic() - t1)
            out["close_cpu"].append(cpu() - c1)
        for _ in range(n):
            box = runner.open_sandbox(Evidence())
            try:
                c0, t0 = cpu(), time.monotonic()
                run = box.start(cmd, label="p")
                ok = run.wait_output("1", 10.0)
                t1 = time.monotonic()
                if not ok:
                    raise RuntimeError(f"print(1) in a sandbox printed nothing: {run.err[-300:]!r}")
                run.wait_exit(10.0)  # ended by itself, so its launcher waits for it and its CPU is counted
                t2 = time.monotonic()
            finally:
                box.close()
            out["launch"].append(t1 - t0)
            out["launch_exit"].append(t2 - t0)
            out["close_run"].append(time.monotonic() - t2)
            out["launch_cpu"].append(cpu() - c0)
        for _ in range(n):
            c0, t0 = cpu_children(), time.monotonic()
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
            p.stdout.readline()
            t1 = time.monotonic()
            p.wait()
            p.stdout.close()
            out["bare"].append(t1 - t0)
            out["bare_exit"].append(time.monotonic() - t0)
            out["bare_cpu"].append(cpu_children() - c0)
    finally:
        runner.close()
    return {"python": py, **{k: med(v) for k, v in out.items()}}


# ------------------------------------------------------------------ printing

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", action="append", metavar="ID", help="grade only this program (repeatable)")
    ap.add_argument("--jobs", type=int, default=None, help="passed to `netgrade check` (default: its own)")
    ap.add_argument("--launches", type=int, default=10, help="sandboxes and launches to take the median of")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; local runner; "
          f"{'programs ' + ', '.join(args.program) if args.program else 'the whole pack'}")
    with tempfile.TemporaryDirectory() as tmp:
        refs = os.path.join(tmp, "refs")
        subprocess.run([sys.executable, "-m", "netgrade", "reference", "export", refs], check=True,
                       capture_output=True)
        run = graded_run(tmp, refs, args)
        py_pass = timed_cmd([sys.executable, "-c", "pass"], 3)
        py_cli = timed_cmd([sys.executable, "-c", "import netgrade.cli"], 3)
        box = sandbox_costs(tmp, args.launches)
    report(run, py_pass, py_cli, box, args)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


def report(run: dict, py_pass: tuple[float, float], py_cli: tuple[float, float], box: dict,
           args: argparse.Namespace) -> None:
    res, marks = run["result"], run["obs"]["marks"]
    rows = per_check(run)
    wall = run["ended"] - run["spawned"]
    n = len(rows)
    forks = len({r["pid"] for r in rows})
    killed = sum(r["killed_cpu"] for r in rows)
    tree = run["tree_cpu"] + killed
    print(f"\nthe run: `netgrade check` exit {run['exit']}, score {res['score']:g}/{res['max_score']:g}, "
          f"{n} checks in {forks} process{'es' if forks != 1 else ''}")
    print(f"  wall {wall:.2f} s (the grader's own duration_s {res['duration_s']:.2f} s)")
    print(f"  CPU {tree:.2f} CPU-s: the process tree as the kernel accounts waited-for children "
          f"{run['tree_cpu']:.2f} (what bench/targets.py reports), plus {killed:.2f} of the programs the grader "
          "killed at their checks' end (read just before each kill: reparented away when killed, no wait counts "
          "them)")
    if not rows:
        print("\nno check ran")
        return

    # ---- the fixed cost
    first, last = min(r["t0"] for r in rows), max(r["t1"] for r in rows)
    print("\nfixed cost before the first check (this run's timestamps; CPU-s of the grading process in each step)")
    prev_t, prev_c = run["spawned"], 0.0
    print(f"  {'step ending at':<46} {'wall':>8} {'CPU-s':>7} {'at':>8}")
    for name, t, c in marks:
        if t > first:
            break
        print(f"  {name:<46} {ms(t - prev_t):>8} {c - prev_c:>7.3f} {t - run['spawned']:>7.3f}s")
        prev_t, prev_c = t, c
    grader_at_first = prev_c
    print(f"  {'the first check starts (in a forked child)':<46} {ms(first - prev_t):>8} {'':>7} "
          f"{first - run['spawned']:>7.3f}s")
    loop = next((t for name, t, _ in marks if name.startswith("the run loop")), None)
    forked = run["obs"].get("spawned") or []
    starts = sorted(min(r["t0"] for r in rows if r["pid"] == pid) for pid in {r["pid"] for r in rows})
    if loop is not None and forked:
        print(f"  the pool: {len(forked)} children forked {', '.join(ms(t - loop) for t in forked[:8])}"
              f"{' ...' if len(forked) > 8 else ''} after the run loop started; their first checks began "
              f"{', '.join(ms(t - loop) for t in starts[:8])}")
    print(f"  before the first check: {first - run['spawned']:.2f} s wall, {grader_at_first:.2f} CPU-s")
    print(f"  beside it, median of 3: `python -c pass` {ms(py_pass[0])}, {py_pass[1]:.3f} CPU-s; "
          f"`python -c 'import netgrade.cli'` {ms(py_cli[0])}, {py_cli[1]:.3f} CPU-s")

    # ---- per check
    walls = [r["wall"] for r in rows]
    cpus = [r["cpu"] for r in rows]
    span = last - first
    print(f"\nchecks: {n}; a check's wall is pytest's setup + call + teardown in its child; its CPU is the child's "
          "and its programs'")
    print(f"  wall  median {ms(med(walls))}, 90th pct {ms(pct(walls, 0.9))}, max {ms(max(walls))}; "
          f"sum {sum(walls):.2f} s")
    print(f"  phases, median (sum): setup {ms(med([r['setup'] for r in rows]))} "
          f"({sum(r['setup'] for r in rows):.2f} s; fixtures, the sandbox opened), "
          f"call {ms(med([r['call'] for r in rows]))} ({sum(r['call'] for r in rows):.2f} s), "
          f"teardown {ms(med([r['teardown'] for r in rows]))} ({sum(r['teardown'] for r in rows):.2f} s; "
          "its runs ended, the sandbox closed)")
    print(f"  CPU   median {med(cpus):.3f}, max {max(cpus):.3f}; sum {sum(cpus):.2f} CPU-s: the grader's side "
          f"(the child: fixtures, sandbox, peers, launches) {sum(r['self_cpu'] for r in rows):.2f}, the programs "
          f"{sum(r['children_cpu'] for r in rows):.2f} ({sum(r['waited_cpu'] for r in rows):.2f} waited for, "
          f"{killed:.2f} killed)")
    dur = [r["duration_s"] for r in rows if r["duration_s"] is not None]
    if dur:
        print(f"  the result's duration_s sums to {sum(dur):.2f} s: it is counted from the end of setup, so it "
              f"leaves out the {sum(r['setup'] for r in rows):.2f} s of setup")
    print(f"  checking span, first check's start to last check's end: {span:.2f} s; the checks' walls "
          f"{sum(walls):.2f} s in it = {sum(walls) / span:.2f} checks at once on average ({forks} children)")
    at_once = concurrency(rows)
    print("  time with k checks running: " + ", ".join(f"{k}: {t:.2f} s" for k, t in sorted(at_once.items())))
    print(f"  top 10 by wall {'':<34} {'wall':>6} {'setup':>6} {'call':>6} {'tear':>6} {'CPU-s':>6} {'progs':>6}")
    for r in sorted(rows, key=lambda r: -r["wall"])[:10]:
        print(f"    {r['key'][:46]:<46} {r['wall']:>6.2f} {r['setup']:>6.2f} {r['call']:>6.2f} "
              f"{r['teardown']:>6.2f} {r['cpu']:>6.3f} {r['children_cpu']:>6.3f}")

    # ---- after the checks, and the CPU account
    end_t, end_c = marks[-1][1], marks[-1][2]
    done = next(((t, c) for name, t, c in marks if name.startswith("checks done")), (last, end_c))
    print(f"\nafter the last check: {ms(end_t - last)} to the outputs written (pytest's end, the result, reference "
          f"notices, JSON, table), {end_c - done[1]:.3f} CPU-s of the grading process; then "
          f"{ms(run['ended'] - end_t)} to its exit")
    during = done[1] - grader_at_first
    if forks == 1 and rows[0]["pid"] == run["obs"].get("pid"):  # --jobs 1: the checks ran in the grading process
        during -= sum(r["self_cpu"] for r in rows)
    elsewhere = tree - grader_at_first - during - (end_c - done[1]) - sum(cpus)
    print(f"CPU account: the grading process outside the checks {tree - sum(cpus) - elsewhere:.2f} CPU-s "
          f"({grader_at_first:.2f} before the first check, {during:.2f} while they ran: forks, reports read, "
          f"{end_c - done[1]:.2f} after), the checks {sum(cpus):.2f}, elsewhere {elsewhere:.2f} (the grading "
          f"process's exit, the forks outside their checks, processes no check started), of {tree:.2f}")

    # ---- what every check pays
    print(f"\nwhat every check pays: median of {args.launches}, measured in this process outside the grading")
    if "why" in box:
        print(f"  sandbox and launch: not measured: {box['why']}")
    else:
        print(f"  a sandbox opened (LocalRunner.open_sandbox)        {ms(box['open']):>7}  {box['open_cpu']:.3f} CPU-s")
        print(f"  closed, empty (Sandbox.close)                      {ms(box['close']):>7}  "
              f"{box['close_cpu']:.3f} CPU-s")
        print(f"  `python3 -c 'print(1)'` in one, to its first line  {ms(box['launch']):>7}  "
              f"{box['launch_cpu']:.3f} CPU-s (to its exit {ms(box['launch_exit'])}, the close after it "
              f"{ms(box['close_run'])})")
        print(f"  the same command outside any sandbox               {ms(box['bare']):>7}  "
              f"{box['bare_cpu']:.3f} CPU-s (to its exit {ms(box['bare_exit'])})")
        print(f"  (the interpreter programs get: {box['python']})")
    gaps = starts_to_first_output(res)
    if gaps:
        print(f"  in this grading's evidence, a program's start to its first output ({len(gaps)} starts): median "
              f"{ms(med(gaps))}, 90th pct {ms(pct(gaps, 0.9))} (with what the program does before it prints)")

    # ---- waits
    mostly = [r for r in rows if r["cpu"] < 0.25 * r["wall"]]
    idle = sum(r["wall"] - r["cpu"] for r in rows)
    runq = [r["runq"] for r in rows if r["runq"] is not None]
    print(f"\nwaits: {len(mostly)} of {n} checks used less than a quarter of their wall as CPU; wall not spent as "
          f"CPU: {idle:.2f} s of the checks' {sum(walls):.2f} s")
    if runq:
        print(f"  of it, {sum(runq):.2f} s the checks' main threads were ready but waiting for a CPU (schedstat: "
              "the machine's load; not counted for other threads or the programs)")
    print("  longest waits (wall - CPU)")
    for r in sorted(rows, key=lambda r: -(r["wall"] - r["cpu"]))[:5]:
        q = f", {r['runq']:.2f} s of it waiting for a CPU" if r["runq"] is not None else ""
        print(f"    {r['key'][:46]:<46} {r['wall'] - r['cpu']:>5.2f} s of {r['wall']:.2f} s{q}")

    # ---- the summary
    print("\nwhere the time goes")
    print(f"  the whole: {wall:.2f} s wall, {tree:.2f} CPU-s")
    fixed = (first - run["spawned"]) + (run["ended"] - last)
    print(f"  fixed: {fixed:.2f} s of the wall: {first - run['spawned']:.2f} s and {grader_at_first:.2f} CPU-s "
          f"before the first check, {end_t - last:.2f} s after the last, {run['ended'] - end_t:.2f} s to exit")
    print(f"  checks: {span:.2f} s of the wall; {n} × {ms(med(walls))} (median; {sum(walls):.1f} s, "
          f"{sum(walls) / span:.1f} at once) and {n} × {med(cpus):.3f} CPU-s (median; {sum(cpus):.2f} CPU-s)")
    starts = program_starts(res)
    if starts:
        progs = sum(r["children_cpu"] for r in rows)
        print(f"  programs: {progs:.2f} of the {tree:.2f} CPU-s, {starts} started ({progs / starts:.3f} CPU-s a "
              f"start); the checks' own side {sum(r['self_cpu'] for r in rows):.2f}, the grading process "
              f"{end_c:.2f}")
    if "why" not in box:
        print(f"  in each check: a sandbox {ms(box['open'] + box['close'])} to open and close, each program's launch "
              f"to its first line {ms(box['launch'])} ({ms(box['bare'])} without the sandbox)")
    print(f"  waits: {idle:.1f} s of the checks' {sum(walls):.1f} s was not their CPU"
          + (f", {sum(runq):.1f} s of it waiting for a CPU" if runq else ""))


if __name__ == "__main__":
    sys.exit(main())
