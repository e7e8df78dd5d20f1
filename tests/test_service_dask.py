"""The service grading on a real Dask cluster (a scheduler and two workers on 127.0.0.1): the Dask worker
grading a submission is killed mid-grading, and the submission is graded on the other one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest
from servicekit import (GRADE_S, REF_UDP_SEND, Service, course, free_port, poll, services,  # noqa: F401
                        upload, wait_state)

distributed = pytest.importorskip("distributed")


def _grading(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return [c for c in psutil.Process(proc.pid).children(recursive=True)
                if "netgrade.batch" in " ".join(c.cmdline())]
    except psutil.NoSuchProcess:
        return []


@pytest.fixture
def dask_cluster(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: dict[str, subprocess.Popen] = {}

    def start(name: str, argv: list[str]) -> subprocess.Popen:
        with open(tmp_path / f"dask-{name}.log", "w") as log:
            procs[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                           start_new_session=True, cwd=str(tmp_path))
        return procs[name]
    try:
        start("scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                            "--port", str(port), "--no-dashboard", "--no-show"])
        for name in ("w1", "w2"):
            start(name, [sys.executable, "-m", "distributed.cli.dask_worker", address, "--name", name,
                         "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                         "--no-dashboard"])
        from distributed import Client
        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=60)
        yield address, procs
    finally:
        for p in procs.values():
            for g in _grading(p):
                g.kill()
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


@pytest.mark.timeout(900)
def test_a_dask_worker_dies_mid_grading_the_other_finishes(tmp_path, dask_cluster, services):
    address, procs = dask_cluster
    data, teacher, tokens = course(tmp_path, None, ["dax"], "--limits", '{"cooldown_s": 0}')
    svc = Service(data, None, workers=1, extra=("--dask", address)).start()
    services.append(svc)
    with svc.client(tokens["dax"]) as c:
        sid = upload(c, [("udp_send.py", REF_UDP_SEND.read_bytes())]).json()["id"]
        victim = poll(lambda: next((n for n in ("w1", "w2") if _grading(procs[n])), None), GRADE_S,
                      message="a Dask worker grading")
        graders = _grading(procs[victim])
        os.killpg(procs[victim].pid, signal.SIGKILL)  # the machine is gone: the worker and its grading
        for g in graders:
            g.kill()
        procs[victim].wait(timeout=30)
        done = wait_state(c, sid, ("done", "failed"), GRADE_S * 2)
    assert done["state"] == "done" and done["score"] == 7 and done["attempt"] == 1, done
    survivor = "w2" if victim == "w1" else "w1"
    graded = [json.loads(line) for line in svc.all_logs().splitlines()
              if line.startswith("{") and '"event": "graded"' in line]
    assert [g.get("dask_worker") for g in graded] == [survivor], graded
