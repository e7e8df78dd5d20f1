"""The Docker engine as netgrade uses it: connecting, labelling, cleaning up.

Every container netgrade makes carries the label ``netgrade`` and these:

- ``netgrade.run``: the grading run it belongs to (all are removed when the
  run ends, whatever way it ends);
- ``netgrade.owner``: the process id of the grader that made it, so a later
  run can remove what a killed grader left behind (``remove_stale``);
- ``netgrade.role``: ``grader`` or ``student``.
"""
from __future__ import annotations

import contextlib
import os
import time

LABEL = "netgrade"


class EngineError(Exception):
    """No usable Docker engine or image: a one-line reason for the user."""


def where() -> str:
    """The engine's address, as the docker SDK reads it."""
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def _no_answer(exc: Exception) -> str:
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return f"no Docker engine answers at {where()} ({reason})"


def connect(timeout: float = 30.0):
    """A docker SDK client whose engine answered a ping; EngineError otherwise."""
    try:
        import docker
    except ImportError:  # pragma: no cover - a dependency of netgrade
        raise EngineError("the docker SDK for Python is not installed (pip install docker)") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # DockerException, requests' connection errors...
        raise EngineError(f"{_no_answer(exc)}; start dockerd, or grade with --runner local") from None
    return client


def unreachable(timeout: float = 10.0) -> str | None:
    """None when the engine answers a ping now; otherwise why not, in one line.

    For telling a grader error's reason: containers that vanished, or a
    request that failed, because the engine stopped (or was stopped) while
    grading went on.
    """
    try:
        import docker
        client = docker.from_env(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - the SDK asks the engine for its version here
        return _no_answer(exc)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return _no_answer(exc)
    finally:
        client.close()
    return None


def container_alive(cid: str, pid: int) -> bool:
    """True while ``pid`` is still the init process of container ``cid`` (its cgroup names the id)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return cid in f.read()
    except OSError:
        return False


def stop_without_engine(containers: list[tuple[str, int]]) -> int:
    """SIGKILL the init process of each (container id, host pid) that still runs; returns how many.

    For containers the engine can no longer remove because it stopped
    answering: their processes (and the namespaces they hold) do not outlive
    the grading run.  The engine removes what is left of them (its records,
    its shims) when it runs again.  A pid is killed only while its cgroup
    still names the container, so a reused pid is never hit.
    """
    import signal
    stopped = 0
    for cid, pid in containers:
        if container_alive(cid, pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                stopped += 1
    return stopped


def short_error(exc: Exception) -> str:
    """The engine's own words for a failure: the last line of its message, bounded."""
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__


def labels(run_id: str, role: str, owner: int) -> dict[str, str]:
    """``owner``: the process id of the grading run's main process."""
    return {LABEL: "1", f"{LABEL}.run": run_id, f"{LABEL}.owner": str(owner), f"{LABEL}.role": role}


def listed(client, label_filters: list[str]) -> list:
    """Containers with these labels, from the engine's list alone (``attrs["Labels"]``).

    Not inspected one by one: a container that goes away meanwhile (another
    grader removing its own) must not break the listing.
    """
    return client.containers.list(all=True, sparse=True, filters={"label": label_filters})


def remove_containers(client, **match: str) -> int:
    """Remove (force) every netgrade container whose labels match; returns how many."""
    filters = [LABEL] + [f"{LABEL}.{k}={v}" for k, v in match.items()]
    try:
        found = listed(client, filters)
    except Exception:
        return 0

    def remove(c) -> int:
        try:
            c.remove(force=True)
            return 1
        except Exception:
            return 0
    if len(found) <= 1:
        return sum(map(remove, found))
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=min(8, len(found))) as pool:  # the engine removes them side by side
        return sum(pool.map(remove, found))


def remove_run(client, run_id: str, settle_s: float = 1.5) -> int:
    """Remove every container of grading run ``run_id``, including any still being made.

    After an interrupt, a worker that was killed while asking the engine for
    a container leaves that request behind: the engine finishes it later.
    So the run's containers are looked for again until none has turned up
    for ``settle_s`` seconds.
    """
    removed = remove_containers(client, run=run_id)
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < settle_s:
        time.sleep(0.25)  # the engine pushes no "created" event we could wait on cheaply
        n = remove_containers(client, run=run_id)
        if n:
            removed += n
            quiet_since = time.monotonic()
    return removed


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def remove_stale(client) -> int:
    """Remove containers left by graders that no longer run (killed, crashed)."""
    removed = 0
    with contextlib.suppress(Exception):
        for c in listed(client, [LABEL]):
            owner = (c.attrs.get("Labels") or {}).get(f"{LABEL}.owner", "")
            if not _alive(owner):
                with contextlib.suppress(Exception):
                    c.remove(force=True)
                    removed += 1
    return removed
