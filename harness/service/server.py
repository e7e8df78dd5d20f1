"""``netgrade serve``: the API on uvicorn in this process, the grading workers as child processes.

SIGTERM or Ctrl-C: uvicorn stops taking requests, the workers stop taking
jobs; a running grading may finish within the grace period, else its
submission goes back to the queue (and is graded by the next start).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from ..batch.processes import worker_env
from . import db
from .logs import log


def _worker_argv(url: str, index: int, opts: dict) -> list[str]:
    argv = [sys.executable, "-m", "netgrade.service.worker", "--db", url, "--runner", opts["runner"],
            "--lease", str(opts["lease"]), "--grace", str(opts["grace"]), "--parent", str(os.getpid()),
            "--timeout", str(opts["timeout"]), "--name", f"{os.uname().nodename}:{os.getpid()}:w{index}"]
    if opts.get("jobs"):
        argv += ["--jobs", str(opts["jobs"])]
    if opts.get("dask"):
        argv += ["--dask", opts["dask"]]
    if opts.get("grader_argv"):
        argv += ["--grader-argv", opts["grader_argv"]]
    return argv


def serve(url: str, host: str, port: int, workers: int, opts: dict, settings) -> int:
    import uvicorn

    from .app import create_app
    engine = db.connect(url, busy_s=settings.db_wait_s)
    db.upgrade(engine)
    log("database", url=db.safe_url(url), revision=db.current_revision(engine))
    if not opts.get("jobs") and not opts.get("dask"):
        from .grader import jobs_for
        opts = {**opts, "jobs": jobs_for(max(1, workers))}
    procs = [subprocess.Popen(_worker_argv(url, i, opts), stdin=subprocess.DEVNULL, env=worker_env())
             for i in range(workers)]
    for p in procs:
        log("worker-spawned", pid=p.pid)
    app = create_app(engine, settings)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    stopped_by: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        # uvicorn puts these handlers back and raises the signal it caught once it has shut down:
        # ours records it, so the workers are still stopped gracefully below
        signal.signal(sig, lambda signum, _f: stopped_by.append(signum))
    try:
        server.run()
    finally:
        stop_workers(procs, float(opts["grace"]))
        log("stopped", signal=signal.Signals(stopped_by[0]).name if stopped_by else None)
    return 0


def stop_workers(procs: list[subprocess.Popen], grace: float) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace + 15  # the grace period, and time to release the lease
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            log("worker-killed", pid=p.pid, why="not stopped within the grace period")
