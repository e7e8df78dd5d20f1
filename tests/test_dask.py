"""Distributed batch grading on a real Dask cluster: one scheduler and two workers on 127.0.0.1.

The cluster's processes are started here, on free loopback ports, without
dashboards, and killed by PID at the end.  Submissions travel to the workers
as bytes (no shared folder is assumed); results land in OUT as in local mode.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time

import pytest
from conftest import MUTANTS, ROOT

from netgrade.batch import BatchOptions, run_batch

distributed = pytest.importorskip("distributed")

START_S = 60  # a cluster that is not up by then is broken


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, deadline: float) -> None:
    while True:
        assert proc.poll() is None, f"dask scheduler exited: {proc.communicate()[1][-2000:]}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert time.monotonic() < deadline, "dask scheduler did not listen in time"
            time.sleep(0.1)  # retrying a refused connection, bounded by the deadline


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []
    # the cluster must import this tree's netgrade (the tasks name netgrade.batch functions)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    def start(name: str, argv: list[str]) -> subprocess.Popen:
        with open(logs / f"{name}.log", "w") as log:  # the child keeps its own copy of the descriptor
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                 start_new_session=True, cwd=str(tmp_path), env=env)
        procs.append(p)
        return p

    try:
        sched = start("scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                    "--port", str(port), "--no-dashboard", "--no-show"])
        _wait_port(port, sched, time.monotonic() + START_S)
        for name in ("w1", "w2"):
            start(name, [sys.executable, "-m", "distributed.cli.dask_worker", address, "--name", name,
                         "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                         "--no-dashboard", "--memory-limit", "0", "--death-timeout", "60"])
        with distributed.Client(address, timeout=START_S, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=START_S)
        yield address
    finally:
        _stop(procs[::-1])


@pytest.mark.timeout(300)
def test_batch_on_a_dask_cluster(cluster, tmp_path, exported):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copytree(exported, d / "alice")
    with tarfile.open(d / "bob.tar.gz", "w:gz") as tf:
        tf.add(exported / "udp_send.py", arcname="udp_send.py")
    shutil.copytree(exported, d / "carol")
    (d / "dan").mkdir()
    shutil.copyfile(MUTANTS / "udp-send" / "gbk.py", d / "dan" / "udp_send.py")
    pack = tmp_path / "pack.toml"
    pack.write_text("[points]\nmust = 3\n")  # must travel to the workers with the submissions
    out = tmp_path / "out"
    opts = BatchOptions(out=str(out), dask=cluster, programs=["udp-send"], progress=False, pack_file=str(pack))
    s = run_batch(str(d), opts)
    assert sorted(s.graded) == ["alice", "bob", "carol", "dan"] and not s.errors
    with open(out / "gradebook.csv", newline="") as f:
        book = {r["name"]: r for r in csv.DictReader(f)}
    for name in ("alice", "bob", "carol"):
        assert book[name]["total"] == book[name]["max"] and book[name]["status"] == "graded"
    assert float(book["dan"]["total"]) < float(book["dan"]["max"])
    r = json.loads((out / "alice" / "result.json").read_text())
    musts = [c for p in r["programs"] for c in p["checks"] if c["level"] == "must"]
    assert musts and all(c["max_score"] == 3 for c in musts)  # the pack reached the workers
    workers = {json.loads((out / n / "batch.json").read_text())["worker"] for n in ("alice", "bob", "carol", "dan")}
    assert workers == {"w1", "w2"}
    assert len((out / "results.jsonl").read_text().splitlines()) == 4
    assert "alice/report.html" in (out / "index.html").read_text()
    # the same batch again, through the cluster: nothing is sent
    s2 = run_batch(str(d), opts)
    assert sorted(s2.cached) == ["alice", "bob", "carol", "dan"] and not s2.graded
