"""Batch grading: gradebook, JSONL, class report, cache and resume, crashes, flaky guard, LMS exports.

Real grading runs restrict themselves to udp-send (the quickest program): the
batch machinery is the same for every program.  Crashes and flaky checks are
produced by a stand-in grading process (a small script given as the worker
command), so they are deterministic.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from conftest import MUTANTS, ROOT, wait_for_pause

from netgrade.batch import BatchOptions, Entry, GradingSpec, discover, grade_task, merge_retry, run_batch, store
from netgrade.lms import LayoutError, split_export
from netgrade.results import CheckResult, ProgramResult, Result

PROG = ["udp-send"]


def _opts(out: Path, **kw) -> BatchOptions:
    base = dict(out=str(out), jobs=2, programs=list(PROG), progress=False, sub_jobs=1)
    base.update(kw)
    return BatchOptions(**base)


def _gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def _tar(src: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as tf:
        for child in sorted(src.iterdir()):
            tf.add(child, arcname=child.name)
    return target


def _zip(src: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(src).as_posix())
    return target


@pytest.fixture
def klass(tmp_path, exported) -> Path:
    """A class: a folder, a .tar.gz, a .zip, a mutant, an empty submission and a stray file."""
    d = tmp_path / "class"
    d.mkdir()
    shutil.copytree(exported, d / "alice")
    _tar(exported, d / "bob.tar.gz")
    _zip(exported, d / "carol.zip")
    (d / "dan").mkdir()
    shutil.copyfile(MUTANTS / "udp-send" / "gbk.py", d / "dan" / "udp_send.py")
    (d / "erin").mkdir()  # hands in nothing
    (d / "README.txt").write_text("not a submission\n")
    return d


def _crashing_worker(tmp_path: Path) -> list[str]:
    script = tmp_path / "crash_worker.py"
    script.write_text("import os, sys\nsys.stderr.write('worker blew up\\n')\nos.abort()\n")
    return [sys.executable, str(script)]


def _crash_some(names: set[str], tmp_path: Path):
    argv = _crashing_worker(tmp_path)

    def fn(task, registry):
        if task["name"] in names:
            task = {**task, "worker_argv": argv}
        return grade_task(task, registry)
    return fn


# ------------------------------------------------------------------ discovery

def test_discover_names_entries_and_skips_others(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "alice").mkdir()
    (d / "alice.zip").write_bytes(b"")
    (d / "bob.TGZ").write_bytes(b"")
    (d / "notes.txt").write_text("x")
    (d / ".hidden").mkdir()
    entries, skipped = discover(d)
    assert [e.name for e in entries] == ["alice", "alice.zip", "bob"]
    assert skipped == ["notes.txt: not a folder, .zip, .tar.gz or .tgz"]


def test_grading_spec_is_one_json_both_ways():
    spec = GradingSpec(path="/class/alice", out="/tmp/result-2.json", programs=["udp-send"], jobs=2,
                       only_checks=["udp-send/port"])
    text = spec.to_json()
    assert json.loads(text)["only_checks"] == ["udp-send/port"]  # the keys a stand-in grading process reads
    assert GradingSpec.from_json(text) == spec
    loose = GradingSpec.from_json('{"path": "p", "out": "o", "programs": null, "only_checks": null}')
    assert loose.programs == [] and loose.only_checks == [] and loose.runner == "local"
    with pytest.raises(ValueError, match="prgrams"):
        GradingSpec.from_json('{"path": "p", "out": "o", "prgrams": []}')


# ------------------------------------------------------------------ end to end, cache

def test_batch_grades_folders_and_archives_then_caches(klass, tmp_path):
    out = tmp_path / "out"
    s = run_batch(str(klass), _opts(out))
    assert sorted(s.graded) == ["alice", "bob", "carol", "dan", "erin"] and not s.cached and not s.errors
    assert s.skipped == ["README.txt: not a folder, .zip, .tar.gz or .tgz"]
    book = _gradebook(out)
    assert list(book["alice"]) == ["name", "total", "max", "udp-send", "status", "reference_copy", "similar_to"]
    assert book["alice"]["reference_copy"] == "udp-send 100%" and book["dan"]["reference_copy"] == ""  # exported references
    for name in ("alice", "bob", "carol"):
        assert book[name]["total"] == book[name]["max"] == book[name]["udp-send"] != "0"
        assert book[name]["status"] == "graded"
    assert float(book["dan"]["total"]) < float(book["dan"]["max"])
    assert book["erin"]["total"] == "0"
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [x["name"] for x in lines] == ["alice", "bob", "carol", "dan", "erin"]
    assert lines[0]["result"]["schema"] == "netgrade.result/1" and lines[0]["result"]["submission"] == "alice"
    dan = Result.from_dict(json.loads((out / "dan" / "result.json").read_text()))
    failing = {c.id for p in dan.programs for c in p.checks if c.status == "fail"}
    assert "non-ascii-and-long" in failing
    meta = json.loads((out / "dan" / "batch.json").read_text())
    assert "udp-send/non-ascii-and-long" in meta["retried"] and meta["flaky"] == []  # retried, failed again
    index = (out / "index.html").read_text()
    for name in ("alice", "bob", "carol", "dan", "erin"):
        assert f"{name}/report.html" in index
        assert "<html" in (out / name / "report.html").read_text().lower()

    # unchanged: nothing graded again
    s2 = run_batch(str(klass), _opts(out))
    assert sorted(s2.cached) == ["alice", "bob", "carol", "dan", "erin"] and not s2.graded
    assert _gradebook(out) == book

    # one submission changed, the pack changed for nobody: only it is graded again
    shutil.copyfile(MUTANTS / "udp-send" / "gbk.py", klass / "alice" / "udp_send.py")
    s3 = run_batch(str(klass), _opts(out))
    assert s3.graded == ["alice"] and sorted(s3.cached) == ["bob", "carol", "dan", "erin"]
    assert _gradebook(out)["alice"]["total"] == _gradebook(out)["dan"]["total"]

    # another pack (points changed): everything is graded again
    pack = tmp_path / "pack.toml"
    pack.write_text("[points]\nmust = 7\n")
    s4 = run_batch(str(klass), _opts(out, pack_file=str(pack), jobs=3))
    assert sorted(s4.graded) == ["alice", "bob", "carol", "dan", "erin"]


def test_force_regrades_and_cli_contract(tmp_path, exported):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copytree(exported, d / "alice")
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from netgrade.batch_cli import batch; batch()", str(d), "--out", str(out),
           "--program", "udp-send", "--jobs", "1"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    assert "1 graded; 0 unchanged" in first.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert again.returncode == 0 and "0 graded; 1 unchanged (cached)" in again.stdout
    forced = subprocess.run(cmd + ["--force"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert forced.returncode == 0 and "1 graded; 0 unchanged" in forced.stdout
    bad = subprocess.run(cmd + ["--program", "udp-sned"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and "unknown program(s): udp-sned" in bad.stderr


# ------------------------------------------------------------------ crashes and failed regrades

def test_crash_is_an_error_and_the_batch_goes_on(tmp_path, exported):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copytree(exported, d / "alice")
    shutil.copytree(exported, d / "crashy")
    (d / "broken.zip").write_bytes(b"this is not a zip")
    out = tmp_path / "out"
    s = run_batch(str(d), _opts(out), grade_fn=_crash_some({"crashy"}, tmp_path))
    assert s.graded == ["alice"] and sorted(s.errors) == ["broken", "crashy"]
    book = _gradebook(out)
    assert book["alice"]["status"] == "graded"
    assert book["crashy"]["status"].startswith("error: grading crashed (killed by signal")
    assert "worker blew up" in book["crashy"]["status"] and book["crashy"]["total"] == ""
    assert book["broken"]["status"].startswith("error: ") and "zip" in book["broken"]["status"]
    assert s.exit_code() == 1
    # errors are not cached: the next run tries them again (and grades crashy for real)
    s2 = run_batch(str(d), _opts(out))
    assert s2.cached == ["alice"] and s2.graded == ["crashy"] and s2.errors == ["broken"]


def test_failed_regrade_keeps_the_good_result(tmp_path, exported):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copytree(exported, d / "alice")
    out = tmp_path / "out"
    assert run_batch(str(d), _opts(out)).graded == ["alice"]
    good = (out / "alice" / "result.json").read_text()
    s = run_batch(str(d), _opts(out, force=True), grade_fn=_crash_some({"alice"}, tmp_path))
    assert s.regrade_failed == ["alice"] and not s.graded
    assert (out / "alice" / "result.json").read_text() == good  # untouched
    failed = json.loads((out / "alice" / "failed-regrade.json").read_text())
    assert failed["status"] == "error" and "grading crashed" in failed["message"]
    row = _gradebook(out)["alice"]
    assert row["total"] == row["max"] != "" and "regrade failed, earlier result kept" in row["status"]
    # a later good regrade clears the record
    s2 = run_batch(str(d), _opts(out, force=True))
    assert s2.graded == ["alice"] and not (out / "alice" / "failed-regrade.json").exists()
    assert _gradebook(out)["alice"]["status"] == "graded"


# ------------------------------------------------------------------ flaky guard

FLAKY_WORKER = """
import json, sys
from netgrade.results import CheckResult, ProgramResult, Result, score_program, total
spec = json.load(open(sys.argv[1]))
retry = bool(spec["only_checks"])
def check(cid, status):
    return CheckResult(id=cid, title=cid, level="must", status=status, score=0.0, max_score=2.0,
                       message="" if status == "pass" else "no datagram within 2 s", duration_s=0.1)
checks = [check("steady", "fail" if not retry else "fail"), check("wobbly", "pass" if retry else "fail")]
if not retry:
    checks.insert(0, check("fine", "pass"))
else:
    assert sorted(spec["only_checks"]) == ["udp-send/steady", "udp-send/wobbly"], spec["only_checks"]
p = ProgramResult(id="udp-send", file="udp_send.py", status="graded", score=0, max_score=0, checks=checks)
score_program(p)
r = Result(submission="x", pack="default", runner="local", score=0, max_score=0, started_at="now",
           duration_s=0.2, programs=[p])
total(r)
r.write_json(spec["out"])
"""


def test_flaky_check_is_marked_and_shown(tmp_path, exported):
    script = tmp_path / "flaky_worker.py"
    script.write_text(FLAKY_WORKER)
    d = tmp_path / "in"
    d.mkdir()
    shutil.copytree(exported, d / "alice")
    out = tmp_path / "out"

    def fn(task, registry):
        return grade_task({**task, "worker_argv": [sys.executable, str(script)]}, registry)
    s = run_batch(str(d), _opts(out), grade_fn=fn)
    assert s.flaky == {"alice": ["udp-send/wobbly"]}
    r = Result.from_dict(json.loads((out / "alice" / "result.json").read_text()))
    checks = {c.id: c for c in r.programs[0].checks}
    assert checks["wobbly"].status == "pass" and checks["wobbly"].flaky and checks["wobbly"].score == 2.0
    assert checks["wobbly"].message.startswith("flaky: fail at first (no datagram within 2 s)")
    assert checks["wobbly"].evidence["first_attempt"]["status"] == "fail"
    assert checks["steady"].status == "fail" and not checks["steady"].flaky
    assert checks["fine"].status == "pass" and not checks["fine"].flaky
    assert r.score == 4.0 and r.max_score == 6.0
    assert any("flaky" in n for n in r.notices)
    row = _gradebook(out)["alice"]
    assert row["status"] == "graded; flaky: udp-send/wobbly" and row["total"] == "4"
    assert "flaky" in (out / "alice" / "report.html").read_text().lower()


def test_merge_retry_never_turns_a_pass_into_anything_else():
    def res(status_by_id):
        checks = [CheckResult(id=k, title=k, level="should", status=v, score=0.0, max_score=1.0, message=v,
                              duration_s=0.0) for k, v in status_by_id.items()]
        return Result(submission="s", pack="p", runner="local", score=0, max_score=0, started_at="", duration_s=0,
                      programs=[ProgramResult(id="p1", file="f", status="error", score=0, max_score=0, checks=checks)])
    first = res({"a": "pass", "b": "error", "c": "fail"})
    flaky = merge_retry(first, res({"a": "fail", "b": "pass", "c": "fail"}))
    assert flaky == ["p1/b"]
    st = {c.id: (c.status, c.flaky) for c in first.programs[0].checks}
    assert st == {"a": ("pass", False), "b": ("pass", True), "c": ("fail", False)}
    assert first.programs[0].status == "graded" and first.score == 2.0


# ------------------------------------------------------------------ interrupt and resume

def _marked(mark: str) -> list[str]:
    """Processes that inherited the batch's marker variable (its grading processes and their children)."""
    import psutil
    left = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if p.environ().get("NETGRADE_TEST_MARK") == mark:
                left.append(f"{p.pid}: {' '.join(p.info['cmdline'] or [])[:200]}")
        except (psutil.Error, OSError):
            continue
    return left


def test_interrupted_batch_resumes(tmp_path, exported):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("s1", "s2", "s3", "s4"):
        shutil.copytree(exported, d / name)
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from netgrade.batch_cli import batch; batch()", str(d), "--out", str(out),
           "--program", "udp-send", "--jobs", "1"]
    mark = f"batch-test-{os.getpid()}-{time.monotonic_ns()}"
    # the batch pauses once the first submission is stored (netgrade.interrupts.pause): the signal
    # arrives between submissions, never after the batch's end
    paused = tmp_path / "paused"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            env={**os.environ, "NETGRADE_TEST_MARK": mark, "NETGRADE_PAUSE_AT": f"stored:{paused}"})
    try:
        wait_for_pause(proc, paused, 120)  # the first submission stored
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted" in stderr
    assert _marked(mark) == [], "grading processes outlived the interrupted batch"
    done = {p.parent.name for p in out.glob("*/batch.json")}
    assert 1 <= len(done) < 4
    book = _gradebook(out)
    for name in ("s1", "s2", "s3", "s4"):
        assert (book[name]["status"] == "graded") == (name in done)
    rest = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rest.returncode == 0, rest.stderr
    assert f"{4 - len(done)} graded; {len(done)} unchanged (cached)" in rest.stdout
    assert all(r["status"] == "graded" for r in _gradebook(out).values())


# ------------------------------------------------------------------ LMS exports

REF_SEND = (ROOT / "reference" / "udp_send.py")


def _canvas_zip(tmp_path: Path, exported: Path) -> Path:
    inner = tmp_path / "bobwork"
    (inner / "lab1").mkdir(parents=True)
    shutil.copyfile(exported / "udp_send.py", inner / "lab1" / "udp_send.py")
    inner_zip = _zip(inner, tmp_path / "inner.zip")
    z = tmp_path / "submissions.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(exported / "udp_send.py", "doejane_12345_67890_udp_send.py")
        zf.write(exported / "udp_recv.py", "doejane_12345_67891_udp_recv-1.py")
        zf.writestr("doejane_12345_67892_notes-2.txt", "hello")
        zf.write(inner_zip, "smithbob_LATE_23456_78901_lab1.zip")
        zf.write(MUTANTS / "udp-send" / "gbk.py", "leeann_34567_89012_udp_send.py")
        zf.writestr("readme.txt", "not from canvas")
    return z


def test_canvas_split(tmp_path, exported):
    z = _canvas_zip(tmp_path, exported)
    split = split_export(z, "canvas", tmp_path / "split", {"udp_send.py", "udp_recv.py"})
    names = {s.name: s for s in split.students}
    assert set(names) == {"doejane_12345", "smithbob_23456", "leeann_34567"}
    jane = tmp_path / "split" / "doejane_12345"
    assert sorted(p.name for p in jane.iterdir()) == ["notes-2.txt", "udp_recv.py", "udp_send.py"]
    assert any("resubmitted" in n for n in names["doejane_12345"].notes)
    assert names["smithbob_23456"].late and not names["doejane_12345"].late
    assert (tmp_path / "split" / "smithbob_23456" / "lab1" / "lab1" / "udp_send.py").is_file()
    assert split.skipped and split.skipped[0].startswith("readme.txt:")
    with pytest.raises(LayoutError):
        split_export(tmp_path / "split" / "doejane_12345", "canvas", tmp_path / "again")
    # the download unpacked into a folder, with the batch's output inside it: the output is not read
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(unpacked)
    (unpacked / "graded" / "x").mkdir(parents=True)
    (unpacked / "graded" / "x" / "zz_1_2_udp_send.py").write_text("stale output")
    again = split_export(unpacked, "canvas", unpacked / "graded" / ".submissions", set(),
                         exclude=(unpacked / "graded",))
    assert [s.name for s in again.students] == ["doejane_12345", "leeann_34567", "smithbob_23456"]
    assert [x.split(":")[0] for x in again.skipped] == ["readme.txt"]


def test_moodle_split_folders_and_flat(tmp_path, exported):
    z = tmp_path / "moodle.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(exported / "udp_send.py", "Jane Doe_12345_assignsubmission_file_/udp_send.py")
        zf.write(exported / "udp_recv.py", "Bob Smith_23456_assignsubmission_file/lab/udp_recv.py")
        zf.writestr("Bob Smith_23456_assignsubmission_onlinetext_/onlinetext.html", "<p>hi</p>")
        zf.write(exported / "udp_send.py", "Li Lei_34567_assignsubmission_file_udp_send.py")
    split = split_export(z, "moodle", tmp_path / "split", set())
    assert [s.name for s in split.students] == ["Bob Smith_23456", "Jane Doe_12345", "Li Lei_34567"]
    assert (tmp_path / "split" / "Jane Doe_12345" / "udp_send.py").is_file()
    assert (tmp_path / "split" / "Bob Smith_23456" / "lab" / "udp_recv.py").is_file()
    assert (tmp_path / "split" / "Li Lei_34567" / "udp_send.py").is_file()
    assert any("onlinetext" in s for s in split.skipped)


def test_canvas_batch_end_to_end(tmp_path, exported):
    z = _canvas_zip(tmp_path, exported)
    out = tmp_path / "out"
    s = run_batch(str(z), _opts(out, layout="canvas"))
    assert sorted(s.graded) == ["doejane_12345", "leeann_34567", "smithbob_23456"]
    book = _gradebook(out)
    assert book["doejane_12345"]["total"] == book["doejane_12345"]["max"]
    assert book["smithbob_23456"]["total"] == book["smithbob_23456"]["max"]
    assert book["smithbob_23456"]["status"].endswith("; late")
    assert float(book["leeann_34567"]["total"]) < float(book["leeann_34567"]["max"])
    meta = json.loads((out / "smithbob_23456" / "batch.json").read_text())
    assert meta["lms"]["id"] == "23456" and meta["lms"]["late"] is True
    # the same download again: nothing to grade
    assert sorted(run_batch(str(z), _opts(out, layout="canvas")).cached) == sorted(s.graded)


def test_store_writes_result_before_the_cache_marker(tmp_path):
    """batch.json is the cache marker: written last, and never for a half-written result."""
    r = Result(submission="a", pack="p", runner="local", score=1, max_score=1, started_at="", duration_s=0)
    meta = store(tmp_path, Entry("a", "/x"), {"digest": "d"}, {"result": r.to_dict()}, "en")
    assert meta["status"] == "graded"
    folder = tmp_path / "a"
    assert (folder / "result.json").stat().st_mtime_ns <= (folder / "batch.json").stat().st_mtime_ns
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-") or p.name.startswith(".result-")]
