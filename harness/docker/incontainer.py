"""The Docker runner's second mode: the whole grading inside one container.

The direct mode (``runner.py``) enters the grading containers from this
machine with ``nsenter``: it needs root here and the engine's containers on
this same kernel.  Where that is not so (netgrade is not root, rootless
Docker, ``DOCKER_HOST=tcp://`` or ``ssh://``, Docker Desktop's VM, podman's
socket) netgrade runs *itself* in a container of the image ``netgrade-full``
(the grading image plus netgrade and its dependencies, ``image.build_full``):
there it is root and grades with the local runner's full sandbox, a network
namespace per check, run uids of their own, the confined view.

The container has no network (``network_mode="none"``) and, of root's
capabilities, only those that sandbox uses (``CAPABILITIES``).  Nothing of
this machine is mounted into it: the submission (and a ``--pack`` file,
``--suites``) go in through the engine's API (``put_archive``), the result
JSON and the reports come out through it (``get_archive``), so a remote
engine works the same as a local one.  The container is labelled like every
netgrade container and removed at the end, Ctrl-C included.

Limits: the container has a cgroup namespace of its own (``cgroupns=private``)
in which netgrade mounts the memory and pids hierarchies writable
(``sandbox/cgroups.py``, before grading starts), so the local sandbox inside
gives each student run a cgroup with the pack's memory and process limits, as
the direct mode does; the container itself is held to ``container_limits``
(room for the grader and a few runs at their limits), and a run is the
kernel's first choice should that memory run out.

``netgrade batch --runner docker`` in this mode (``netgrade.batch.container``): one
container for the whole batch; each grading process of the batch (the first
grading of a submission, the retry of its failing checks) is a ``docker exec``
of ``python -m netgrade.batch grade`` in it, the submission sent in and the
result fetched through the API.  The batch's cache, resume, retry, reports and
gradebook stay on this machine, as for the local batch.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from ..pack import Limits
from ..sandbox import cgroups
from . import engine

#: the mode's name, in the result's ``runner`` field and on the terminal
LABEL = "docker (grader in a container)"
IN = "/netgrade/in"
OUT = "/netgrade/out"
#: root's capabilities the local sandbox uses inside the container, found by dropping each in turn from a
#: larger set: without SYS_ADMIN, NET_ADMIN, SETUID, SETGID, DAC_OVERRIDE or CHOWN the references lose marks;
#: without KILL every check waits ~2 s at its end for run processes (other uids) the grader cannot signal;
#: SYS_CHROOT and FOWNER made no difference and are not given.
#: SYS_ADMIN: unshare and mount (network, mount and pid namespaces, tmpfs masks, a fresh /proc, pivot_root);
#: NET_ADMIN: lab addresses on the loopback, nft rules (the catch-all redirect), resetting sockets;
#: SETUID, SETGID: each run under a user id of its own; DAC_OVERRIDE, CHOWN: work folders owned by the run
#: uids; KILL: ending a run's processes, which run under those uids
CAPABILITIES = ["SYS_ADMIN", "NET_ADMIN", "SETUID", "SETGID", "DAC_OVERRIDE", "CHOWN", "KILL"]
SECURITY_OPT = [
    "no-new-privileges",
    # Docker's default seccomp profile and its AppArmor profile (docker-default) refuse parts of what the
    # sandbox launcher does (mount of a new /proc and of tmpfs masks inside a new mount namespace,
    # mount propagation changes); the container's own confinement is its missing network and capabilities
    "seccomp=unconfined",
    "apparmor=unconfined",
]
#: the engine's read-only paths but /proc/sys (Docker's default list otherwise): each check's new network
#: namespace sets its own net.ipv4.ip_unprivileged_port_start (a student's server binds port 69 as its run
#: uid).  The masked paths (/proc/kcore...) stay masked.
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger"]
#: where the runs' cgroup hierarchies are mounted inside the container (sandbox/cgroups.py)
RUN_CGROUPS = "/run/netgrade-cgroups"
#: the container's memory beside its runs': pytest's workers, our reference programs, the grading itself
GRADER_MB = 2048
#: processes (threads count) beside the runs': the workers' threads, the references
GRADER_PIDS = 2048
#: runs at their full limits the container has room for at once (each is held to its own limits too)
RUNS_AT_LIMIT = 4

Echo = Callable[[str], None]


def direct_problem(client) -> str | None:
    """Why the direct mode cannot work here (so the container mode is used), or None."""
    if os.geteuid() != 0:
        return "netgrade is not root here (the direct mode enters the containers' namespaces)"
    host = engine.where()
    if not host.startswith("unix://") and "://" in host:
        return f"the engine is remote ({host})"
    try:
        info = client.info()
    except Exception as exc:  # noqa: BLE001
        return f"the engine does not describe itself ({engine.short_error(exc)})"
    if any("rootless" in str(o) for o in info.get("SecurityOptions") or []):
        return "the engine is rootless Docker (its containers are in a user namespace of their own)"
    # the same machine: the same kernel, and the engine's data folder is here (not its host name: a grader in a
    # UTS namespace of its own, or a container, has another one and still shares the engine's kernel)
    kernel, name, root = info.get("KernelVersion"), info.get("Name"), info.get("DockerRootDir") or ""
    if kernel != os.uname().release or not (root and os.path.isdir(root)):
        return f"the engine runs on another machine or VM ({name}, kernel {kernel})"
    return None


def choose(client, forced: str | None) -> tuple[str, str]:
    """("direct" | "container", why): the mode ``--runner docker`` grades in."""
    if forced == "direct":
        return "direct", "--docker-mode direct"
    if forced == "container":
        return "container", "--docker-mode container"
    why = direct_problem(client)
    return ("container", why) if why else ("direct", "root, and the engine is on this machine")


def container_limits(limits: Limits) -> dict[str, object]:
    """The container's own memory and process limits (the docker SDK's names) for a pack's ``limits``."""
    memory = f"{GRADER_MB + RUNS_AT_LIMIT * limits.memory_mb}m"
    return {"mem_limit": memory, "memswap_limit": memory,
            "pids_limit": GRADER_PIDS + RUNS_AT_LIMIT * limits.processes}


def make_host_config(client, limits: Limits) -> dict:
    host_config = client.api.create_host_config(network_mode="none", cap_drop=["ALL"], cap_add=CAPABILITIES,
                                                security_opt=SECURITY_OPT, cgroupns="private", init=True,
                                                **container_limits(limits))
    host_config["ReadonlyPaths"] = READONLY_PATHS  # the SDK has no parameter for it (the API has, since 1.40)
    return host_config


def container_environment() -> dict[str, str]:
    return {"COLUMNS": str(shutil.get_terminal_size((100, 24)).columns), "PYTHONUNBUFFERED": "1",
            cgroups.ENV: RUN_CGROUPS}


#: the runs' cgroups mounted, then the command (``netgrade/docker/inside.py``)
WITH_CGROUPS = ["python3", "-m", "netgrade.docker.inside", RUN_CGROUPS, "--"]


def tar_entries(entries: list[tuple[str, Path]], data: dict[str, bytes] | None = None) -> bytes:
    """A tar of files and folders, each under its path in the container (relative to /), and of ``data``
    (path: bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for arcname, src in entries:
            tar.add(str(src), arcname=arcname, recursive=True)
        for arcname, content in (data or {}).items():
            info = tarfile.TarInfo(arcname)
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _extract(chunks, dest: str) -> None:
    buf = io.BytesIO()
    for chunk in chunks:
        buf.write(chunk)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        tar.extractall(dest, filter="data")


def grade(client, tag: str, path: str, args: list[str], outputs: dict[str, str | None],
          echo_out: Callable[[bytes], None], echo_err: Echo, limits: Limits) -> int:
    """Grade ``path`` inside a container of image ``tag``; returns netgrade's exit status there.

    ``args``: the options for ``netgrade check`` inside (a ``--pack`` or ``--suites`` path of this
    machine is sent in and replaced); ``outputs``: {"json"|"html"|"junit"|"gradescope"|"markdown": the
    file to write here, or None}; ``limits``: the pack's (the container's are made from them).  The
    terminal's table is passed on as it is printed.
    """
    src = Path(path)
    if not src.exists():
        raise FileNotFoundError(path)
    name = src.resolve().name or "submission"
    entries = [(f"{IN.lstrip('/')}/{name}", src)]
    inner = [*WITH_CGROUPS, "python3", "-m", "netgrade", "check", f"{IN}/{name}", "--runner", "local",
             "--runner-label", LABEL]
    it = iter(args)
    for a in it:
        if a in ("--pack", "--suites"):
            local = Path(next(it))
            sent = f"{IN}/{a[2:]}-{len(entries)}-{local.name}"
            entries.append((sent.lstrip("/"), local))
            inner += [a, sent]
        else:
            inner.append(a)
    files = {"json": "result.json", "html": "report.html", "junit": "junit.xml", "gradescope": "results.json",
             "markdown": "summary.md"}
    for kind, target in outputs.items():
        if target:
            inner += [f"--{kind}", f"{OUT}/{files[kind]}"]
    run_id = uuid.uuid4().hex[:12]
    engine.remove_stale(client)
    host_config = make_host_config(client, limits)
    made = client.api.create_container(tag, inner, labels=engine.labels(run_id, "grading", os.getpid()),
                                       environment=container_environment(), stop_signal="SIGKILL", working_dir="/netgrade",
                                       host_config=host_config, network_disabled=False)
    container = client.containers.get(made["Id"])
    try:
        container.put_archive("/", tar_entries(entries))
        container.start()
        for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=False):
            echo_out(chunk)
        status = int(container.wait().get("StatusCode", 1))
        err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace").rstrip("\n")
        if err:
            echo_err(err)
        with tempfile.TemporaryDirectory(prefix="netgrade-out-") as tmp:
            with contextlib.suppress(Exception):  # nothing written (the check stopped before): the caller says so
                stream, _ = container.get_archive(OUT)
                _extract(stream, tmp)
            for kind, target in outputs.items():
                got = os.path.join(tmp, "out", files[kind])
                if target and os.path.exists(got):
                    shutil.copyfile(got, target)
                    if kind == "markdown" and os.environ.get("GITHUB_STEP_SUMMARY"):
                        with open(got, encoding="utf-8") as f, open(os.environ["GITHUB_STEP_SUMMARY"], "a",
                                                                    encoding="utf-8") as out:
                            out.write(f.read() + "\n")
        return status
    finally:  # whatever happened (Ctrl-C included), the container goes
        with contextlib.suppress(Exception):
            container.remove(force=True)
        engine.remove_run(client, run_id, settle_s=0.0)


def run_check(path: str, args: list[str], outputs: dict[str, str | None], why: str, log: Echo,
              limits: Limits) -> int:
    """``netgrade check --runner docker`` in the container mode: the image ready, then ``grade``."""
    from . import image
    client = engine.connect()
    log(f"netgrade: runner {LABEL}: {why}")
    tag = image.ensure_full(client, log=lambda m: log(f"netgrade: {m}"))

    def out(chunk: bytes) -> None:
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    return grade(client, tag, path, args, outputs, out, log, limits)
