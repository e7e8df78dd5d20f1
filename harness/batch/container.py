"""``netgrade batch --runner docker`` in the Docker runner's container mode (``netgrade.docker.incontainer``).

One container of ``netgrade-full`` for the whole batch; each grading process
of the batch (the first grading of a submission, the retry of its failing
checks) is a ``docker exec`` of ``python -m netgrade.batch grade`` in it, the
submission sent in and the result fetched through the engine's API.  The
batch's cache, resume, retry, reports and gradebook stay on this machine, as
for the local batch.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import tarfile
import threading
import uuid
from pathlib import Path

from ..docker import engine, image
from ..docker.incontainer import IN, LABEL, WITH_CGROUPS, Echo, container_environment, make_host_config, tar_entries
from ..grading import error_result, pack_limits
from ..pack import Limits
from .model import INTERRUPT_GRACE_S, GradingSpec
from .processes import Interrupted

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
            environment=container_environment(), stop_signal="SIGKILL", working_dir="/netgrade",
            host_config=make_host_config(self.client, self.limits), network_disabled=False)
        self.container = self.client.containers.get(made["Id"])
        try:
            if self.pack_file:
                self.container.put_archive("/", tar_entries([(f"{IN.lstrip('/')}/pack.toml", Path(self.pack_file))]))
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
            self.container.put_archive("/", tar_entries([(f"{folder.lstrip('/')}/{src.name or 'submission'}", src)]))
        return folder

    def run_grader(self, path: str, task: dict, only_checks: list[str], tmp: str, tag: str, registry,
                   progress=None) -> dict:
        """One grading process of the batch, in the container; the result dict (an error result when it
        could not grade).  ``progress`` is not reported from inside the container: only the result comes out."""
        def failed(why: str) -> dict:
            return error_result(task["name"], task.get("pack_name", "?"), LABEL, why).to_dict()
        try:
            folder = self._folder(path)
            spec = GradingSpec(path=f"{folder}/{Path(path).name or 'submission'}", out=f"{folder}/result-{tag}.json",
                               pack_file=f"{IN}/pack.toml" if self.pack_file else None,
                               programs=list(task.get("programs") or []), runner="local", jobs=task.get("jobs"),
                               max_jobs=task.get("max_jobs"),
                               only_checks=only_checks, runner_label=LABEL)
            spec_path = f"{folder}/spec-{tag}.json"
            self.container.put_archive("/", tar_entries([], {spec_path.lstrip("/"): spec.to_json().encode()}))
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
    tag = image.ensure_full(client, log=log)
    return BatchContainer(client, tag, pack_limits(pack_file), pack_file, timeout).start()
