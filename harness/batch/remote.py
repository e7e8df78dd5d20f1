"""Grading on a Dask cluster (``netgrade batch --dask``): each submission is shipped to a worker as
bytes and graded there as in local mode; Ctrl-C stops the workers' grading processes through a Dask
event.
"""
from __future__ import annotations

import io
import os
import sys
import tarfile
import tempfile
import threading
from pathlib import Path

from ..i18n import N_, Msg
from .model import INTERRUPT_GRACE_S, BatchError, Entry
from .processes import ProcessRegistry
from .task import grade_task


def _ship(entry: Entry) -> tuple[bytes, str]:
    """The submission as bytes for a remote worker: archives as they are, folders as a .tar.gz."""
    p = Path(entry.path)
    if p.is_file():
        return p.read_bytes(), p.name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for child in sorted(p.iterdir()):
            tf.add(child, arcname=child.name)
    return buf.getvalue(), entry.name + ".tar.gz"


def _run_dask(address, todo, base_task, pack_text, finish, progress) -> None:
    try:
        from distributed import Client, Event, as_completed
        from distributed import wait as dask_wait
    except ImportError:
        raise BatchError('--dask needs dask.distributed: pip install "dask[distributed]"') from None
    try:
        client = Client(address, timeout=30, set_as_default=False)
    except OSError as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    owners = {}
    futures = []
    stop_name = f"netgrade-stop-{os.urandom(8).hex()}"  # set on Ctrl-C: the workers stop their graders
    current = client.as_current()  # as_completed looks for "the" client
    current.__enter__()
    try:
        for entry, key in todo:
            payload, payload_name = _ship(entry)
            task = {**base_task, "name": entry.name, "path": None, "payload": payload,
                    "payload_name": payload_name, "pack_text": pack_text, "stop_event": stop_name}
            fut = client.submit(remote_grade, task, key=f"netgrade-{os.urandom(8).hex()}", pure=False)
            owners[fut.key] = (entry, key)
            futures.append(fut)
        for fut in as_completed(futures):
            entry, key = owners[fut.key]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died or the task raised
                from ..grading import error_result
                outcome = {"result": error_result(entry.name, base_task["pack_name"], base_task["runner"],
                                                  Msg(N_("dask worker error: {error}"),
                                                      {"error": f"{type(exc).__name__}: {exc}"})).to_dict()}
            finish(entry, key, outcome, progress)
    except KeyboardInterrupt:
        progress.line("interrupted: stopping the Dask tasks' grading processes; finished results are kept")
        # cancelling alone would leave a running task's grading process at work on its worker
        Event(stop_name, client=client).set()
        try:
            dask_wait(futures, timeout=INTERRUPT_GRACE_S + 10)
        except Exception:  # noqa: BLE001 - a worker that does not answer: cancel is all that is left
            pass
        client.cancel(futures)
        raise
    finally:
        current.__exit__(None, None, None)
        client.close()


def remote_grade(task: dict) -> dict:
    """A Dask task: write the shipped pack out, then grade as in local mode."""
    try:
        from distributed import get_worker
        worker = str(get_worker().name)
    except Exception:  # noqa: BLE001
        worker = "?"
    registry = ProcessRegistry()
    done = threading.Event()
    if task.get("stop_event"):
        from distributed import Event, get_client
        stop = Event(task["stop_event"], client=get_client())  # the client: here, in the task's own thread

        def watch() -> None:  # the batch was interrupted: stop this task's grading process
            while not done.is_set():
                try:
                    if stop.wait(timeout=1):
                        registry.interrupt_all()
                        return
                except Exception as exc:  # noqa: BLE001 - the scheduler went away: the task ends with it
                    print(f"netgrade: the stop watch ended: {exc!r}", file=sys.stderr)
                    return
        threading.Thread(target=watch, name="netgrade-stop-watch", daemon=True).start()
    path = None
    if task.get("pack_text") is not None:
        fd, path = tempfile.mkstemp(prefix="netgrade-pack-", suffix=".toml")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(task["pack_text"])
        task = {**task, "pack_file": path}
    try:
        outcome = grade_task(task, registry)
    finally:
        done.set()
        if path:
            os.unlink(path)
    outcome["worker"] = worker
    return outcome
