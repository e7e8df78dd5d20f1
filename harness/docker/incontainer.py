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

``netgrade batch --runner docker`` in this mode (``BatchContainer``): one
container for the whole batch; each grading process of the batch (the first
grading of a submission, the retry of its failing checks) is a ``docker exec``
of ``python -m netgrade.batch grade`` in it, the submission sent in and the
result fetched through the API.  The batch's cache, resume, retry, reports and
gradebook stay on this machine, as for the local batch.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import shutil
import sys
import tarfile
import tempfile
import threading
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


def _host_config(client, limits: Limits) -> dict:
    host_config = client.api.create_host_config(network_mode="none", cap_drop=["ALL"], cap_add=CAPABILITIES,
                                                security_opt=SECURITY_OPT, cgroupns="private", init=True,
                                                **container_limits(limits))
    host_config["ReadonlyPaths"] = READONLY_PATHS  # the SDK has no parameter for it (the API has, since 1.40)
    return host_config


def _environment() -> dict[str, str]:
    return {"COLUMNS": str(shutil.get_terminal_size((100, 24)).columns), "PYTHONUNBUFFERED": "1",
            cgroups.ENV: RUN_CGROUPS}


#: the runs' cgroups mounted, then the command (``netgrade/docker/inside.py``)
WITH_CGROUPS = ["python3", "-m", "netgrade.docker.inside", RUN_CGROUPS, "--"]


def _pack_limits(pack_file: str | None) -> Limits:
    from ..grading import BadInput, load_pack
    try:
        return load_pack(pack_file, checks=False).limits
    except BadInput:  # the grading inside says what is wrong with it; the container gets the default's
        return load_pack(None, checks=False).limits


def _tar(entries: list[tuple[str, Path]], data: dict[str, bytes] | None = None) -> bytes:
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
          echo_out: Callable[[bytes], None], echo_err: Echo, limits: Limits | None = None) -> int:
    """Grade ``path`` inside a container of image ``tag``; returns netgrade's exit status there.

    ``args``: the options for ``netgrade check`` inside (a ``--pack`` or ``--suites`` path of this
    machine is sent in and replaced); ``outputs``: {"json"|"html"|"junit"|"gradescope"|"markdown": the
    file to write here, or None}.  The terminal's table is passed on as it is printed.
    """
    src = Path(path)
    if not src.exists():
        raise FileNotFoundError(path)
    name = src.resolve().name or "submission"
    entries = [(f"{IN.lstrip('/')}/{name}", src)]
    inner = [*WITH_CGROUPS, "python3", "-m", "netgrade", "check", f"{IN}/{name}", "--runner", "local",
             "--runner-label", LABEL]
    pack_file = None
    it = iter(args)
    for a in it:
        if a in ("--pack", "--suites"):
            local = Path(next(it))
            if a == "--pack":
                pack_file = str(local)
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
    host_config = _host_config(client, limits or _pack_limits(pack_file))
    made = client.api.create_container(tag, inner, labels=engine.labels(run_id, "grading", os.getpid()),
                                       environment=_environment(), stop_signal="SIGKILL", working_dir="/netgrade",
                                       host_config=host_config, network_disabled=False)
    container = client.containers.get(made["Id"])
    try:
        container.put_archive("/", _tar(entries))
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


def run_check(path: str, args: list[str], outputs: dict[str, str | None], why: str, log: Echo) -> int:
    """``netgrade check --runner docker`` in the container mode: the image ready, then ``grade``."""
    from . import image
    client = engine.connect()
    log(f"netgrade: runner {LABEL}: {why}")
    tag = image.ensure_full(client, log=lambda m: log(f"netgrade: {m}"))

    def out(chunk: bytes) -> None:
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    return grade(client, tag, path, args, outputs, out, log)


# ------------------------------------------------------------------ netgrade batch --runner docker, in a container

JOBS = "/netgrade/jobs"
#: exit statuses of ``timeout``: the grading ran out of time (124), and was killed after its grace (137)
TIMED_OUT = (124, 137)


class BatchContainer:
    """One container for a whole batch; each of the batch's grading processes is a ``docker exec`` in it.

    ``run_grader`` takes the place of ``netgrade.batch.processes._run_grader``
    (the same arguments and result): the submission goes in once (its first
    grading and the retry of its failing checks share it), the grading spec
    beside it, and ``python -m netgrade.batch grade`` runs under ``timeout``
    (the batch's time limit per grading, then SIGINT, then SIGKILL); its result
    comes out through the API.  On Ctrl-C the batch's registry removes the
    container, which ends every grading inside it at once.
    """

    def __init__(self, client, tag: str, limits: Limits, pack_file: str | None, timeout: float) -> None:
        from ..batch.model import INTERRUPT_GRACE_S
        self.client, self.tag, self.limits, self.timeout = client, tag, limits, timeout
        self.grace = INTERRUPT_GRACE_S
        self.pack_file = pack_file
        self.run_id = uuid.uuid4().hex[:12]
        self.container = None
        self._sent: dict[str, str] = {}  # a submission's path here -> its folder there
        self._lock = threading.Lock()
        self._jobs = itertools.count()
        self._local = threading.local()
        self.removed = False

    def start(self) -> BatchContainer:
        engine.remove_stale(self.client)
        made = self.client.api.create_container(
            self.tag, ["sleep", "infinity"], labels=engine.labels(self.run_id, "grading", os.getpid()),
            environment=_environment(), stop_signal="SIGKILL", working_dir="/netgrade",
            host_config=_host_config(self.client, self.limits), network_disabled=False)
        self.container = self.client.containers.get(made["Id"])
        try:
            if self.pack_file:
                self.container.put_archive("/", _tar([(f"{IN.lstrip('/')}/pack.toml", Path(self.pack_file))]))
            self.container.start()
            got = self.container.exec_run(WITH_CGROUPS[:-1])  # before any grading: the runs' cgroups
            if got.exit_code != 0:
                raise engine.EngineError("cannot prepare the grading container: "
                                         + got.output.decode("utf-8", "replace").strip()[-300:])
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove the container (every grading in it ends); again is harmless."""
        self.removed = True
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.remove(force=True)
        with contextlib.suppress(Exception):
            engine.remove_run(self.client, self.run_id, settle_s=0.0)

    def __enter__(self) -> BatchContainer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _api(self):
        """A client of this thread's own, whose reads wait as long as one grading may take."""
        api = getattr(self._local, "api", None)
        if api is None:
            import docker
            api = self._local.api = docker.from_env(timeout=self.timeout + self.grace + 60).api  # as connect()
        return api

    def _folder(self, path: str) -> str:
        """The submission's folder in the container, sent there the first time."""
        with self._lock:
            folder = self._sent.get(path)
            if folder is None:
                folder = self._sent[path] = f"{JOBS}/{next(self._jobs)}"
                fresh = True
            else:
                fresh = False
        if fresh:
            src = Path(path)
            self.container.put_archive("/", _tar([(f"{folder.lstrip('/')}/{src.name or 'submission'}", src)]))
        return folder

    def run_grader(self, path: str, task: dict, only_checks: list[str], tmp: str, tag: str, registry,
                   progress=None) -> dict:
        """One grading process of the batch, in the container; the result dict (an error result when it
        could not grade).  ``progress`` is not reported from inside the container: only the result comes out."""
        from ..batch.model import GradingSpec
        from ..batch.processes import Interrupted
        from ..grading import error_result

        def failed(why: str) -> dict:
            return error_result(task["name"], task.get("pack_name", "?"), LABEL, why).to_dict()
        try:
            folder = self._folder(path)
            spec = GradingSpec(path=f"{folder}/{Path(path).name or 'submission'}", out=f"{folder}/result-{tag}.json",
                               pack_file=f"{IN}/pack.toml" if self.pack_file else None,
                               programs=list(task.get("programs") or []), runner="local", jobs=task.get("jobs"),
                               only_checks=only_checks, runner_label=LABEL)
            spec_path = f"{folder}/spec-{tag}.json"
            self.container.put_archive("/", _tar([], {spec_path.lstrip("/"): spec.to_json().encode()}))
            api = self._api()
            timeout = float(task.get("timeout") or self.timeout)
            cmd = ["timeout", "-s", "INT", "-k", f"{self.grace:g}", f"{timeout:g}",
                   "python3", "-m", "netgrade.batch", "grade", spec_path]
            ex = api.exec_create(self.container.id, cmd, stdout=True, stderr=True)
            _out, err = api.exec_start(ex["Id"], demux=True)
            if registry is not None and registry.stop.is_set():
                raise Interrupted()
            code = api.exec_inspect(ex["Id"]).get("ExitCode")
            if code in TIMED_OUT:
                return failed(f"grading timed out after {timeout:g} s")
            try:
                stream, _ = api.get_archive(self.container.id, spec.out)
                data = json.loads(_member(stream))
            except Exception:  # noqa: BLE001 - no result: the grading crashed
                data = None
        except Interrupted:
            raise
        except Exception as exc:  # noqa: BLE001 - the engine's failures are grader errors
            if registry is not None and registry.stop.is_set() or self.removed:
                raise Interrupted() from None
            return failed(f"grader error: {LABEL}: {engine.short_error(exc)}")
        if not isinstance(data, dict) or "schema" not in data:
            tail = (err or b"").decode("utf-8", "replace").strip().splitlines()[-3:]
            return failed(f"grading crashed (exit status {code}): " + " | ".join(tail))
        return data


def _member(chunks) -> bytes:
    """The one file of a tar stream (``get_archive`` of a file)."""
    buf = io.BytesIO()
    for chunk in chunks:
        buf.write(chunk)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        for m in tar.getmembers():
            if m.isfile():
                return tar.extractfile(m).read()
    raise FileNotFoundError("an empty archive")


def batch_container(client, pack_file: str | None, timeout: float, log: Echo) -> BatchContainer:
    """The started container for ``netgrade batch --runner docker`` in the container mode."""
    from . import image
    tag = image.ensure_full(client, log=log)
    return BatchContainer(client, tag, _pack_limits(pack_file), pack_file, timeout).start()
