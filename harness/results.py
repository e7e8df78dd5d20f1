"""The result model, ``netgrade.result/1``: one source for every output.

The terminal table, the JSON file and (later) HTML, JUnit and Gradescope
outputs are all rendered from a :class:`Result`.  Its JSON form is a public
contract; keys are only ever added.  Statuses and levels are the enums of
``verdicts``, written as their words; a word given to a constructor (read
from a file, written in a test) becomes its member there, and a word that is
none raises ValueError.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import RESULT_SCHEMA
from .atomicfile import atomic_write
from .verdicts import Level, ProgramStatus, RunStatus, Status


@dataclass
class CheckResult:
    id: str
    title: str
    level: Level
    status: Status
    score: float
    max_score: float
    message: str
    duration_s: float
    evidence: dict[str, Any] = field(default_factory=dict)
    sheet: str = ""
    hint: str = ""
    #: failed first, passed when retried in a fresh sandbox (batch grading)
    flaky: bool = False

    def __post_init__(self) -> None:
        self.level = Level(self.level)
        self.status = Status(self.status)

    @property
    def counts(self) -> bool:
        """True when this check decides the exit status (must and should)."""
        return self.level.counts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckResult":
        return cls(**d)


@dataclass
class ProgramResult:
    id: str
    file: str | None
    status: ProgramStatus
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    title: str = ""
    message: str = ""
    #: near-copy notices for the instructor (never a fail), e.g. "87% similar to netgrade's reference ..."
    notices: list[str] = field(default_factory=list)
    #: {"reference": file, "score": 0..1, "threshold": 0..1, "flagged": bool}; empty when not compared
    reference_similarity: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = ProgramStatus(self.status)


@dataclass
class Result:
    submission: str
    pack: str
    runner: str
    score: float
    max_score: float
    started_at: str
    duration_s: float
    programs: list[ProgramResult] = field(default_factory=list)
    schema: str = RESULT_SCHEMA
    status: RunStatus = RunStatus.GRADED
    message: str = ""
    notices: list[str] = field(default_factory=list)
    netgrade_version: str = ""

    def __post_init__(self) -> None:
        self.status = RunStatus(self.status)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # schema first, for people reading the file
        return {"schema": d.pop("schema"), **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Result":
        d = dict(d)
        programs = []
        for p in d.pop("programs", []):
            p = dict(p)
            p["checks"] = [CheckResult.from_dict(c) for c in p.get("checks", [])]
            programs.append(ProgramResult(**p))
        return cls(programs=programs, **d)

    def all_passed(self) -> bool:
        """Every must and should check passed and no program is missing or in error."""
        if self.status != RunStatus.GRADED:
            return False
        for p in self.programs:
            if p.status != ProgramStatus.GRADED:
                return False
            for c in p.checks:
                if c.counts and c.status != Status.PASS:
                    return False
        return True

    def exit_code(self) -> int:
        return 0 if self.all_passed() else 1

    def write_json(self, path: str | Path) -> None:
        """Write atomically: a reader never sees half a file."""
        atomic_write(Path(path), json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n")


def score_program(p: ProgramResult) -> None:
    for c in p.checks:
        c.score = c.max_score if c.status == Status.PASS else 0.0
    p.score = sum(c.score for c in p.checks)
    if p.status == ProgramStatus.GRADED or p.checks:
        p.max_score = sum(c.max_score for c in p.checks)


def total(result: Result) -> None:
    result.score = round(sum(p.score for p in result.programs), 3)
    result.max_score = round(sum(p.max_score for p in result.programs), 3)
