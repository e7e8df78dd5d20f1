"""Runners: where a check's sandbox comes from.

Every runner gives a check a :class:`~netgrade.sandbox.Sandbox`: a private
network where the grader's peer and the programs meet, and a way to start
programs in it.  Suites never know which runner they run on.

- ``local`` (``LOCAL``, the default): a network namespace per check on this machine, programs
  isolated in their own pid and mount namespaces under a user id of their own.
  Where namespaces cannot be made it falls back to the host's loopback, one
  check at a time, and says so.
- ``docker`` (``DOCKER``): two containers per worker, the student's programs in one that
  shares only the other's loopback (see ``harness/docker/runner.py``).

``RUNNERS`` is the one registry of runners by name; a grading run's choice
(the name and what that runner needs) is a :class:`RunnerChoice`, which
travels to the pytest workers in the plan.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the CLI imports RUNNERS for its choices: the sandbox is imported only to open one
    from .evidence import Evidence
    from .pack import Limits
    from .sandbox import Sandbox

#: the runners' names (``--runner``): the keys of RUNNERS
LOCAL = "local"
DOCKER = "docker"


@dataclass(frozen=True)
class DockerRun:
    """What the docker runner's workers share in one grading run (made by the grader before pytest starts)."""

    image: str  # the grading image's tag
    run: str  # the run's id, on the label of every container it makes
    owner: int  # the grading process's pid, on the labels too: the containers of a dead owner are stale
    pairs: str | None = None  # the folder where the containers made while pytest starts are announced


@dataclass(frozen=True)
class RunnerChoice:
    """The runner a grading run uses (a key of RUNNERS) and what that runner needs."""

    name: str = LOCAL
    #: local: None uses network namespaces where they can be made, False grades on the host's loopback
    namespaces: bool | None = None
    #: docker: the run's image and containers
    docker: DockerRun | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunnerChoice:
        docker = d.get("docker")
        return cls(name=d["name"], namespaces=d.get("namespaces"),
                   docker=DockerRun(**docker) if docker is not None else None)


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
    name = LOCAL

    def __init__(self, workbase: str, limits: Limits, lab_addresses: tuple[str, ...] = (),
                 use_namespaces: bool | None = None) -> None:
        self.workbase = workbase
        self.limits = limits
        self.lab_addresses = lab_addresses
        from .sandbox.netns import namespace_support
        support = namespace_support() if use_namespaces is None else ("netns" if use_namespaces else "disabled")
        self.use_namespaces = support == "netns"
        self.parallel = self.use_namespaces
        from .sandbox.cgroups import delegated
        self.run_cgroups = delegated()[0]  # the container mode's: a cgroup per run (else rlimits alone)
        if not self.use_namespaces:
            self.notice = (f"network namespaces are unavailable ({support}); grading on the host's loopback,"
                           " one check at a time, without lab addresses")

    def open_sandbox(self, evidence: Evidence) -> Sandbox:
        from .sandbox import Sandbox, new_network
        net = new_network(self.use_namespaces, self.lab_addresses if self.use_namespaces else ())
        return Sandbox(net, evidence, self.workbase, self.limits, run_cgroups=self.run_cgroups)


def _local(choice: RunnerChoice, workbase: str, limits: Limits, lab_addresses: tuple[str, ...]) -> Runner:
    return LocalRunner(workbase, limits, lab_addresses, use_namespaces=choice.namespaces)


def _docker(choice: RunnerChoice, workbase: str, limits: Limits, lab_addresses: tuple[str, ...]) -> Runner:
    from .docker.runner import DockerRunner  # noqa: PLC0415 - only when asked for (it needs the docker SDK)
    d = choice.docker
    if d is None:
        raise ValueError("the docker runner needs the run's image and containers (RunnerChoice.docker)")
    return DockerRunner(workbase, d.image, d.run, d.owner, limits, lab_addresses, pairs_dir=d.pairs)


#: every runner, by the name ``--runner`` takes: the CLI's and the batch's choices, the plugin's factory
RUNNERS: dict[str, Callable[[RunnerChoice, str, Limits, tuple[str, ...]], Runner]] = {
    LOCAL: _local,
    DOCKER: _docker,
}


def make_runner(choice: RunnerChoice, workbase: str, limits: Limits, lab_addresses: tuple[str, ...]) -> Runner:
    """The runner ``choice`` names (a key of RUNNERS; ValueError otherwise) for one pytest process."""
    try:
        factory = RUNNERS[choice.name]
    except KeyError:
        raise ValueError(f"unknown runner {choice.name!r} (choose from {', '.join(RUNNERS)})") from None
    return factory(choice, workbase, limits, lab_addresses)


def make_workbase(parent: str) -> str:
    """A folder for run work dirs: enterable by the programs' user ids, not listable."""
    path = os.path.join(parent, "runs")
    os.makedirs(path, exist_ok=True)
    os.chmod(parent, 0o711)
    os.chmod(path, 0o711)
    return path
