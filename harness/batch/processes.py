"""The grading processes, from the batch's side: start one (``python -m netgrade.batch grade SPEC``),
wait for its result within the time limit, and the registry that stops them all (each by its own
process group) on Ctrl-C.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .. import interrupts
from ..i18n import N_, Msg
from ..runner import LOCAL
from .model import DEFAULT_TIMEOUT, INTERRUPT_GRACE_S, GradingSpec, _read_json


def worker_env() -> dict[str, str]:
    """A process started from this one (a grading process, a service worker) imports the same netgrade,
    wherever it was started from."""
    import netgrade
    package = Path(netgrade.__file__).resolve().parent
    if package.name != "netgrade":  # an editable install: the same interpreter finds the same netgrade
        return dict(os.environ)
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": str(package.parent) + (os.pathsep + path if path else "")}


def _worker_argv(spec_path: str) -> list[str]:
    return [sys.executable, "-m", "netgrade.batch", "grade", spec_path]


class Interrupted(Exception):
    pass


class ProcessRegistry:
    """The grading processes running now, so Ctrl-C can stop them (by their own process group)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._procs: set[subprocess.Popen] = set()
        self._stoppers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add_stopper(self, stop: Callable[[], None]) -> None:
        """Also call ``stop`` on Ctrl-C: it ends grading that is not a process of this machine (the
        container mode's container, whose removal ends every grading inside it)."""
        with self._lock:
            self._stoppers.append(stop)

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.add(proc)
        if self.stop.is_set():
            self._signal(proc, signal.SIGINT)

    def discard(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # the grading process leads its own group
        except (ProcessLookupError, PermissionError):
            pass

    def interrupt_all(self) -> None:
        """SIGINT first (netgrade cleans up its sandboxes), SIGKILL after a grace period."""
        self.stop.set()
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            self._signal(p, signal.SIGINT)
        with self._lock:
            stoppers = list(self._stoppers)
        for stop in stoppers:
            stop()
        deadline = time.monotonic() + INTERRUPT_GRACE_S
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(p, signal.SIGKILL)


def _follow(fd: int, progress) -> threading.Thread:
    """Read the grading process's progress pipe as it writes (a blocking read: each line when it comes)."""
    def read() -> None:
        with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as pipe:
            for line in pipe:  # ends when the grading process (the pipe's only writer) ends
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    try:
                        progress(event)
                    except Exception:  # noqa: BLE001 - a follower's fault never costs the grading
                        pass
    t = threading.Thread(target=read, name="netgrade-progress", daemon=True)
    t.start()
    return t


def _run_grader(path: str, task: dict, only_checks: list[str], tmp: str, tag: str,
                registry: ProcessRegistry | None, progress=None) -> dict:
    """One grading process; returns the result dict (an error result when it crashed).

    ``progress`` (a callable) gets the process's progress events (``grading.Options.progress``) as
    they come, through a pipe it inherits.
    """
    from ..grading import error_result
    out = os.path.join(tmp, f"result-{tag}.json")
    spec = GradingSpec(path=path, pack_file=task.get("pack_file"), programs=list(task.get("programs") or []),
                       runner=task.get("runner", LOCAL), jobs=task.get("jobs"),
                       max_jobs=task.get("max_jobs"), only_checks=only_checks, out=out)
    read_end = write_end = None
    if progress is not None:
        read_end, write_end = os.pipe()
        spec.progress_fd = write_end
    spec_path = os.path.join(tmp, f"spec-{tag}.json")
    Path(spec_path).write_text(spec.to_json(), "utf-8")
    argv = task.get("worker_argv") or _worker_argv(spec_path)
    if task.get("worker_argv"):
        argv = [*argv, spec_path]
    timeout = float(task.get("timeout") or DEFAULT_TIMEOUT)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, text=True, errors="replace", env=worker_env(),
                                pass_fds=() if write_end is None else (write_end,))
    finally:
        if write_end is not None:
            os.close(write_end)  # the grading process holds the only write end: EOF when it ends
    follower = None if read_end is None else _follow(read_end, progress)
    if registry is not None:
        registry.add(proc)
    try:
        # tag 1: the first grading; 2: the retry of its failing checks
        interrupts.pause(f"grader-started-{tag}", registry.stop if registry is not None else None)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            ProcessRegistry._signal(proc, signal.SIGINT)
            try:
                proc.communicate(timeout=INTERRUPT_GRACE_S)
            except subprocess.TimeoutExpired:
                ProcessRegistry._signal(proc, signal.SIGKILL)
                proc.communicate()
            return error_result(task["name"], task.get("pack_name", "?"), spec.runner,
                                Msg(N_("grading timed out after {seconds} s"), {"seconds": f"{timeout:g}"})).to_dict()
    finally:
        if registry is not None:
            registry.discard(proc)
        if follower is not None:
            follower.join(timeout=5)  # the last lines, already written when the process ended
    if registry is not None and registry.stop.is_set():
        raise Interrupted()
    data = _read_json(Path(out))
    if data is None or "schema" not in data:
        tail = (err or "").strip().splitlines()[-3:]
        why = Msg(N_("exit status {code}"), {"code": proc.returncode}) if proc.returncode >= 0 else \
            Msg(N_("killed by signal {signal}"), {"signal": -proc.returncode})
        return error_result(task["name"], task.get("pack_name", "?"), spec.runner,
                            Msg(N_("grading crashed ({why}): {stderr}"), {"why": why, "stderr": " | ".join(tail)})
                            ).to_dict()
    return data
