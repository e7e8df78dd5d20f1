"""A cgroup per program run: the pack's memory and process limits held by the kernel.

The Docker runner's direct mode gives each student run a cgroup under the
student container's cgroup (``docker/runner.py``).  The local sandbox does the
same where a delegated subtree is there for it: inside the container mode's
container (``docker/incontainer.py``), which has a cgroup namespace of its own
(``cgroupns=private``) where netgrade mounts the memory and pids hierarchies
writable under ``NETGRADE_RUN_CGROUPS`` (``mount_delegated``); the container's
own cgroup is their root, so every run's cgroup is inside the container's
limits too.  A memory hog is then reported as "killed: memory limit 1024 MiB"
and a fork bomb as "process limit 64 reached", and neither reaches the grader.

cgroup v1 only (one hierarchy per controller), as the direct mode: under
cgroup v2 the mount is refused with a reason, and the runs are held by their
rlimits alone (the result says so).
"""
from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time

from ..i18n import N_, Msg
from ..pack import Limits
from .netns import SandboxError

#: the controllers that hold a student run to the pack's limits (memory_mb, processes)
CONTROLLERS = ("memory", "pids")
#: how a check's error begins when a run's limits cannot be applied: such a run is never started
CGROUP_UNUSABLE = "the run's cgroup could not be made"
LIMITS_LOST = "its memory and process limits cannot be enforced"
#: the folder holding one writable hierarchy per controller (``<folder>/memory``, ``<folder>/pids``); set in
#: the container mode's container
ENV = "NETGRADE_RUN_CGROUPS"
#: written into that folder when the hierarchies could not be mounted: why
PROBLEM = "problem"


def _cgroup_dirs(pid: int, controllers: tuple[str, ...]) -> dict[str, str]:
    """The cgroup v1 (or v2) folders of process ``pid``, by controller."""
    out: dict[str, str] = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(","):
                if c in controllers:
                    out[c] = f"/sys/fs/cgroup/{c}{path}"
            if ctrls == "" and not out:  # cgroup v2: one tree for every controller
                for c in controllers:
                    out[c] = f"/sys/fs/cgroup{path}"
    return out


def cgroup_problem(dirs: dict[str, str], pid: int) -> str | None:
    """Why runs cannot be given cgroups under these folders of process ``pid``, or None.

    Every controller of CONTROLLERS must be there: without one of them a run
    would go on without that limit, silently.
    """
    missing = [c for c in CONTROLLERS if c not in dirs]
    if missing:
        return f"the student container has no {' or '.join(missing)} cgroup (/proc/{pid}/cgroup)"
    for ctrl in CONTROLLERS:
        if not os.path.isdir(dirs[ctrl]):
            return (f"the student container's {ctrl} cgroup {dirs[ctrl]} is not there"
                    " (no cgroup file system at /sys/fs/cgroup?)")
    return None


class RunCgroup:
    """A cgroup for one program run, under ``parent`` (a folder per controller).

    Raises SandboxError (``CGROUP_UNUSABLE``) when it cannot be made in full:
    a run is never started with only some of its limits.
    """

    def __init__(self, parent: dict[str, str], name: str, limits: Limits) -> None:
        self.dirs: dict[str, str] = {}
        self.fds: list[int] = []
        self.memory_mb = limits.memory_mb
        self.processes = limits.processes
        settings = {"memory": {"memory.limit_in_bytes": str(limits.memory_mb * 1024 * 1024)},
                    "pids": {"pids.max": str(limits.processes)}}
        base = ""
        try:
            for ctrl, base in parent.items():
                d = os.path.join(base, name)
                os.mkdir(d)
                self.dirs[ctrl] = d
                for key, value in settings.get(ctrl, {}).items():
                    with open(os.path.join(d, key), "w") as f:
                        f.write(value)
                self.fds.append(os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC))
        except OSError as exc:
            self.remove()
            raise SandboxError(f"{CGROUP_UNUSABLE}: {exc.filename or base}: {exc.strerror or exc}; {LIMITS_LOST}"
                               ) from None

    def _read(self, ctrl: str, name: str) -> dict[str, int]:
        d = self.dirs.get(ctrl)
        out: dict[str, int] = {}
        if d is None:
            return out
        with contextlib.suppress(OSError, ValueError), open(os.path.join(d, name)) as f:
            for line in f:
                k, _, v = line.partition(" ")
                out[k] = int(v)
        return out

    def probe(self) -> Msg | None:
        """Why the kernel stopped the run, if a limit did (a message: the report renders it in its language)."""
        if self._read("memory", "memory.oom_control").get("oom_kill", 0) > 0:
            return limit_reason("memory", self.memory_mb)
        if self._read("pids", "pids.events").get("max", 0) > 0:
            return limit_reason("pids", self.processes)
        return None

    def close_fds(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []

    def remove(self, settle_s: float = 2.0) -> None:
        """Remove the run's cgroups, once the last of its processes has left them.

        A killed run's processes leave their cgroup a little after its first
        process is reaped (the kernel ends the rest of its pid namespace on its
        own); until then ``rmdir`` says EBUSY.
        """
        self.close_fds()
        deadline = time.monotonic() + settle_s
        for d in self.dirs.values():
            while True:
                try:
                    os.rmdir(d)
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                        break
                time.sleep(0.005)  # the kernel tells no one when a cgroup empties (v1)


def delegated() -> tuple[dict[str, str] | None, str | None]:
    """(the folder per controller for the runs' cgroups, why there is none): from NETGRADE_RUN_CGROUPS.

    (None, None) where it is not set (the local runner on a machine: rlimits,
    as ever).  Set, but not mounted: (None, why), and the runs keep their
    rlimits alone; the grading says so in a notice.
    """
    root = os.environ.get(ENV)
    if not root:
        return None, None
    dirs = {c: os.path.join(root, c) for c in CONTROLLERS}
    if all(os.path.ismount(d) for d in dirs.values()):
        return dirs, None
    why = "its hierarchies are not mounted"
    with contextlib.suppress(OSError), open(os.path.join(root, PROBLEM), encoding="utf-8") as f:
        why = f.read().strip() or why
    return None, why


def mount_delegated(root: str) -> str | None:
    """Mount a writable memory and pids hierarchy under ``root`` (inside the container mode's container,
    as root with SYS_ADMIN, in a cgroup namespace of its own); returns why not, or None.

    Done once per container, before any grading; a second call finds them mounted.
    """
    problem = None
    try:
        with open("/proc/self/cgroup") as f:
            v2 = all(line.split(":", 2)[1] == "" for line in f if line.strip())
        if v2:
            raise OSError("the machine has cgroup v2 (netgrade's run cgroups are cgroup v1's)")
        for ctrl in CONTROLLERS:
            target = os.path.join(root, ctrl)
            os.makedirs(target, exist_ok=True)
            if os.path.ismount(target):
                continue
            proc = subprocess.run(["mount", "-t", "cgroup", "-o", ctrl, f"netgrade-{ctrl}", target],
                                  check=False, capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                raise OSError(f"mount of the {ctrl} cgroup: {proc.stderr.strip() or proc.returncode}")
    except (OSError, subprocess.SubprocessError) as exc:
        problem = str(exc)
        with contextlib.suppress(OSError):
            os.makedirs(root, exist_ok=True)
            with open(os.path.join(root, PROBLEM), "w", encoding="utf-8") as f:
                f.write(problem + "\n")
    return problem


def limit_reason(limit: str, value: int) -> Msg:
    """Why a run ended, when the kernel enforced ``limit`` ("memory": MiB, "pids": processes)."""
    if limit == "memory":
        return Msg(N_("killed: memory limit {mib} MiB"), {"mib": value})
    if limit == "pids":
        return Msg(N_("process limit {count} reached"), {"count": value})
    raise ValueError(f"no such limit: {limit!r}")
