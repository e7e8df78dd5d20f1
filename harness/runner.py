"""Runners: where a check's sandbox comes from.

Every runner gives a check a :class:`~netgrade.sandbox.Sandbox`: a private
network where the grader's peer and the programs meet, and a way to start
programs in it.  Suites never know which runner they run on.

- ``local`` (default): a network namespace per check on this machine, programs
  isolated in their own pid and mount namespaces under a user id of their own.
  Where namespaces cannot be made it falls back to the host's loopback, one
  check at a time, and says so.
- ``docker``: two containers per worker, the student's programs in one that
  shares only the other's loopback (see ``harness/docker/runner.py``).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the CLI imports RUNNERS for its choices: the sandbox is imported only to open one
    from .evidence import Evidence
    from .pack import Limits
    from .sandbox import Sandbox

class Runner(ABC):
    name: str
    #: True when checks may run at the same time (each has its own network)
    parallel: bool
    #: a sentence for the user when the runner had to lower its guarantees
    notice: str | None = None

    @abstractmethod
    def open_sandbox(self, evidence: Evidence) -> Sandbox: ...

    def close(self) -> None:
        """Release what the runner holds for the whole worker (containers)."""


class LocalRunner(Runner):
    name = "local"

    def __init__(self, workbase: str, limits: Limits, lab_addresses: tuple[str, ...] = (),
                 use_namespaces: bool | None = None) -> None:
        self.workbase = workbase
        self.limits = limits
        self.lab_addresses = lab_addresses
        from .sandbox.netns import namespace_support
        support = namespace_support() if use_namespaces is None else ("netns" if use_namespaces else "disabled")
        self.use_namespaces = support == "netns"
        self.parallel = self.use_namespaces
        if not self.use_namespaces:
            self.notice = (f"network namespaces are unavailable ({support}); grading on the host's loopback,"
                           " one check at a time, without lab addresses")

    def open_sandbox(self, evidence: Evidence) -> Sandbox:
        from .sandbox import Sandbox, new_network
        net = new_network(self.use_namespaces, self.lab_addresses if self.use_namespaces else ())
        return Sandbox(net, evidence, self.workbase, self.limits)


def _local(workbase: str, limits: Limits, lab_addresses: tuple[str, ...], extra: dict[str, Any]) -> Runner:
    return LocalRunner(workbase, limits, lab_addresses, use_namespaces=extra.get("namespaces"))


def _docker(workbase: str, limits: Limits, lab_addresses: tuple[str, ...], extra: dict[str, Any]) -> Runner:
    from .docker.runner import DockerRunner  # noqa: PLC0415 - only when asked for (it needs the docker SDK)
    return DockerRunner(workbase, extra["docker_image"], extra["docker_run"], extra["docker_owner"],
                        limits, lab_addresses, pairs_dir=extra.get("docker_pairs"))


#: every runner, by the name ``--runner`` takes: the CLI's and the batch's choices, the plugin's factory
RUNNERS: dict[str, Callable[[str, Limits, tuple[str, ...], dict[str, Any]], Runner]] = {
    "local": _local,
    "docker": _docker,
}


def make_runner(name: str, workbase: str, limits: Limits, lab_addresses: tuple[str, ...],
                extra: dict[str, Any]) -> Runner:
    """The runner called ``name`` (a key of RUNNERS; ValueError otherwise) for one pytest process."""
    try:
        factory = RUNNERS[name]
    except KeyError:
        raise ValueError(f"unknown runner {name!r}") from None
    return factory(workbase, limits, lab_addresses, extra)


def make_workbase(parent: str) -> str:
    """A folder for run work dirs: enterable by the programs' user ids, not listable."""
    path = os.path.join(parent, "runs")
    os.makedirs(path, exist_ok=True)
    os.chmod(parent, 0o711)
    os.chmod(path, 0o711)
    return path


def memo_path(workbase: str, kind: str, program_id: str) -> str:
    """A marker file shared by every check (and worker) of one grading run.

    It lives beside the work folders, outside any program's reach, and goes
    with the grading run's temporary folder.
    """
    return os.path.join(os.path.dirname(workbase), f"{kind}.{program_id}")
