"""``netgrade batch --runner docker`` in the container mode: one container for the batch.

Real engine, real container (dockerenv.py says when these skip).  The batch's
bookkeeping is the local batch's (batch.json, gradebook, cache, resume, the
flaky guard's retry); only where each grading process runs differs: a
``docker exec`` in the batch's container.  Real grading is restricted to
udp-send (the quickest program), as in tests/test_batch.py; every mutant
round graded in one such batch is in tests/test_docker_container_mode.py.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MUTANTS, ROOT, wait_for_pause
from dockerenv import netgrade_containers, require_docker

import nonroot

LABEL = "docker (grader in a container)"
CONTAINER = ("--runner", "docker", "--docker-mode", "container")
pytestmark = pytest.mark.xdist_group("docker-container-mode")  # the container mode's image, built once


@pytest.fixture(scope="module")
def full_image():
    client, _tag = require_docker()
    from netgrade.docker import image
    return client, image.ensure_full(client, log=lambda m: None)


def _batch(klass: Path, out: Path, *args: str, timeout: float = 600, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "netgrade", "batch", str(klass), "--out", str(out),
                           "--program", "udp-send", "--no-similarity", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})})


def _gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def _containers_of(client, owner: int) -> list:
    return [c for c in netgrade_containers(client) if (c.attrs.get("Labels") or {}).get("netgrade.owner") == str(owner)]


def _left_behind(client) -> list:
    from netgrade.docker.engine import _alive
    return [c for c in netgrade_containers(client) if (c.attrs.get("Labels") or {}).get("netgrade.role") == "grading"
            and not _alive((c.attrs.get("Labels") or {}).get("netgrade.owner", ""))]


def test_container_batch_grades_retries_caches(full_image, tmp_path, exported):
    client, _tag = full_image
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copytree(exported, klass / "alice")
    (klass / "dan").mkdir()
    shutil.copyfile(MUTANTS / "udp-send" / "gbk.py", klass / "dan" / "udp_send.py")
    (klass / "erin").mkdir()  # hands in nothing
    out = tmp_path / "out"
    proc = _batch(klass, out, *CONTAINER)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"runner {LABEL}: --docker-mode container" in proc.stderr, proc.stderr[-2000:]
    assert "3 graded; 0 unchanged (cached); 0 in error" in proc.stdout, proc.stdout[-2000:]
    book = _gradebook(out)
    assert book["alice"]["total"] == book["alice"]["max"] and float(book["alice"]["max"]) > 0, book["alice"]
    assert float(book["dan"]["total"]) < float(book["dan"]["max"]), book["dan"]
    assert book["erin"]["total"] == "0", book["erin"]
    assert all(row["status"] == "graded" for row in book.values()), book
    for name in ("alice", "dan", "erin"):
        result = json.loads((out / name / "result.json").read_text("utf-8"))
        assert result["runner"] == LABEL and result["status"] == "graded", (name, result.get("message"))
        assert (out / name / "report.html").stat().st_size > 1000
    dan = json.loads((out / "dan" / "batch.json").read_text("utf-8"))
    # the flaky guard graded dan's failing check again (a second exec in the container); it failed again
    assert "udp-send/non-ascii-and-long" in dan["retried"] and dan["flaky"] == [], dan
    failing = [c["id"] for p in json.loads((out / "dan" / "result.json").read_text("utf-8"))["programs"]
               for c in p["checks"] if c["status"] != "pass" and c["level"] != "extra"]
    assert failing == ["non-ascii-and-long"], failing
    assert _left_behind(client) == []
    # unchanged: nothing graded, so no container either
    again = _batch(klass, out, *CONTAINER)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 graded; 3 unchanged (cached)" in again.stdout, again.stdout[-2000:]
    assert "runner docker" not in again.stderr


def test_container_batch_interrupted_resumes(full_image, tmp_path, exported):
    client, _tag = full_image
    klass = tmp_path / "in"
    klass.mkdir()
    for name in ("s1", "s2", "s3"):
        shutil.copytree(exported, klass / name)
    out = tmp_path / "out"
    paused = tmp_path / "paused"  # the batch pauses once its first submission is stored
    proc = subprocess.Popen([sys.executable, "-m", "netgrade", "batch", str(klass), "--out", str(out), *CONTAINER,
                             "--program", "udp-send", "--jobs", "1", "--no-similarity"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "NETGRADE_PAUSE_AT": f"stored:{paused}"})
    try:
        wait_for_pause(proc, paused, 300)  # the first submission stored
        assert _containers_of(client, proc.pid), "the batch has no grading container"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, (stdout[-2000:], stderr[-2000:])
    assert _containers_of(client, proc.pid) == [], "the batch's container outlived it"
    done = {p.parent.name for p in out.glob("*/batch.json")}
    assert 1 <= len(done) < 3, done
    rest = _batch(klass, out, *CONTAINER, "--jobs", "1")
    assert rest.returncode == 0, rest.stderr[-2000:]
    assert f"{3 - len(done)} graded; {len(done)} unchanged (cached)" in rest.stdout, rest.stdout[-2000:]
    book = _gradebook(out)
    assert all(r["status"] == "graded" and r["total"] == r["max"] for r in book.values()), book


def test_container_batch_grading_past_its_timeout_is_an_error(full_image, tmp_path):
    client, _tag = full_image
    klass = tmp_path / "class"
    (klass / "slow").mkdir(parents=True)
    (klass / "slow" / "udp_send.py").write_text("import time\ntime.sleep(600)\n", "utf-8")
    out = tmp_path / "out"
    proc = _batch(klass, out, *CONTAINER, "--timeout", "2")  # less than pytest takes to start in there
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert _gradebook(out)["slow"]["status"] == "error: grading timed out after 2 s", _gradebook(out)
    result = json.loads((out / "slow" / "result.json").read_text("utf-8"))
    assert result["status"] == "error" and result["runner"] == LABEL, result
    assert _left_behind(client) == []


def test_container_batch_without_an_engine_is_a_one_line_error(tmp_path, exported):
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copytree(exported, klass / "alice")
    proc = _batch(klass, tmp_path / "out", *CONTAINER, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "netgrade: error: no Docker engine answers at unix:///nonexistent/docker.sock" in proc.stderr, proc.stderr


def test_non_root_docker_group_user_batch_gets_container_mode(full_image):
    client, tag = full_image
    env = nonroot.join_docker_group()
    d = nonroot.shared_folder("container-mode-batch")
    r = nonroot.run_as_user(["mkdir -p class && netgrade reference export class/alice >/dev/null && "
                             "netgrade batch class --out out --runner docker --program udp-send --no-similarity"],
                            cwd=str(d), shell=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "netgrade is not root" in r.stderr and f"building {tag}" not in r.stderr, r.stderr[-2000:]
    result = json.loads(Path(d, "out", "alice", "result.json").read_text("utf-8"))
    assert result["runner"] == LABEL and result["status"] == "graded", result.get("message")
    assert result["score"] == result["max_score"] > 0
    assert _left_behind(client) == []
