"""The batch's records: its options, one entry (a submission), the run's summary, the spec one grading
process is given (``GradingSpec``: the batch writes it as JSON, ``python -m netgrade.batch grade``
reads it), and the constants they share.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .. import interrupts
from ..runner import LOCAL

META = "batch.json"
DEFAULT_TIMEOUT = 900.0
#: after Ctrl-C, how long a grading process may take to clean up before it is killed
INTERRUPT_GRACE_S = 5.0


class BatchError(Exception):
    """The batch cannot start (bad folder, pack, programs); one line."""


@dataclass
class BatchOptions:
    out: str
    jobs: int | None = None  # submissions at a time; None: one per core
    runner: str = LOCAL
    pack_file: str | None = None
    force: bool = False
    layout: str | None = None  # "canvas" | "moodle"
    dask: str | None = None  # scheduler address
    programs: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT  # per grading process
    retry_failed: bool = True  # the flaky guard
    sub_jobs: int | None = None  # checks at a time within one submission; None: share the machine
    progress: bool = True
    similarity: bool = True  # near-copies between submissions (netgrade.copycheck)
    docker_mode: str = "auto"  # with runner docker: "auto" | "direct" | "container" (netgrade.docker.incontainer)


@dataclass
class Entry:
    name: str
    path: str
    lms: dict | None = None


@dataclass
class Summary:
    graded: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    regrade_failed: list[str] = field(default_factory=list)
    flaky: dict[str, list[str]] = field(default_factory=dict)
    interrupted: bool = False
    skipped: list[str] = field(default_factory=list)
    html_renderer: str = "placeholder"
    duration_s: float = 0.0
    #: the batch's language (the pack's): of its reports and of the lines it prints
    lang: str = "en"

    def exit_code(self) -> int:
        if self.interrupted:
            return interrupts.exit_code()
        return 1 if self.errors else 0


@dataclass
class GradingSpec:
    """What one grading process is asked to do: grade ``path`` into the result file ``out``.

    ``only_checks`` (``program/check`` keys) narrows the grading to those
    checks (the flaky guard's retry); with ``progress_fd`` it writes each
    finished check on that pipe as it finishes.  ``to_json`` and ``from_json`` are the
    one serialization; a stand-in grading process (a test's) reads the same
    keys.
    """
    path: str
    out: str
    pack_file: str | None = None
    programs: list[str] = field(default_factory=list)
    runner: str = LOCAL
    jobs: int | None = None
    max_jobs: int | None = None  # the most checks at a time when jobs is None (grading.Options.max_jobs)
    only_checks: list[str] = field(default_factory=list)
    runner_label: str | None = None  # the result's runner field, when not the runner's name (the container mode)
    #: a pipe the grading process writes its progress to, one JSON object a line (``grading.Options.progress``)
    progress_fd: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))  # ASCII: a path that is not UTF-8 survives as an escape

    @classmethod
    def from_json(cls, text: str) -> GradingSpec:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("a grading spec is a JSON object")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"a grading spec has no key(s) {', '.join(unknown)}")
        spec = cls(**data)
        spec.programs = list(spec.programs or [])
        spec.only_checks = list(spec.only_checks or [])
        return spec


def _read_json(path: Path) -> dict | None:
    """A JSON file of the batch (batch.json, a result), or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
