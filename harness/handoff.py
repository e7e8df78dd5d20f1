"""What the grader and its pytest workers hand each other: typed here, serialized only here.

- :class:`Plan`, from ``netgrade check`` to the plugin in every worker
  (``plan.json``, given as ``--netgrade-plan``): the merged pack, the
  submission, where each program was found and how it is started, which
  programs and checks to grade, the runner.
- :class:`CheckRecord`, from the plugin back to the grader, one per check:
  the check's :class:`~netgrade.results.CheckResult` and where it came from
  (its program, pytest node id, place in its file).  A worker puts it on the
  check's test report (``user_properties`` under ``RECORD_KEY``, forwarded by
  xdist); before any check runs, each worker writes every collected check's
  record, without its verdict, to the check index (``write_index``), from
  which the grader gives a verdict to the checks a dead worker never reported.

Both travel as JSON between processes of one netgrade version; neither is a
public contract (``netgrade.result/1`` is), but a plan left by ``netgrade
check --keep-plan`` can be read and given to pytest by hand.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import pack as packmod
from .atomicfile import atomic_write
from .checks import CheckInfo
from .i18n import Msg
from .results import CheckResult, set_text
from .runner import RunnerChoice
from .submission import Located
from .text import printable
from .verdicts import Level, Status

#: the key of a check's record among its test report's user_properties
RECORD_KEY = "netgrade"


@dataclass
class Plan:
    """A grading run, as every pytest process of it needs it."""

    pack: packmod.Pack
    submission_name: str
    submission_root: str
    programs: dict[str, Located]
    selected: list[str]
    runner: RunnerChoice
    workbase: str
    jobs: int = 1
    #: grade only these checks ("program/check" keys); empty: every check
    only_checks: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({
            "pack": self.pack.to_dict(), "pack_sources": list(self.pack.sources),
            "submission_name": self.submission_name, "submission_root": self.submission_root,
            "programs": {pid: loc.to_dict() for pid, loc in self.programs.items()},
            "selected": list(self.selected), "runner": self.runner.to_dict(), "workbase": self.workbase,
            "jobs": self.jobs, "only_checks": list(self.only_checks),
        }, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        d = json.loads(text)
        return cls(
            pack=packmod.from_dict(d["pack"], tuple(d["pack_sources"])),
            submission_name=d["submission_name"], submission_root=d["submission_root"],
            programs={pid: Located.from_dict(loc) for pid, loc in d["programs"].items()},
            selected=list(d["selected"]), runner=RunnerChoice.from_dict(d["runner"]), workbase=d["workbase"],
            jobs=int(d.get("jobs", 1)), only_checks=list(d.get("only_checks", ())),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), "utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        return cls.from_json(Path(path).read_text("utf-8"))


def no_evidence() -> dict[str, Any]:
    """The evidence of a check that recorded none (``Evidence().to_dict()`` of an empty one)."""
    return {"events": [], "processes": []}


@dataclass
class CheckRecord:
    """One check of a grading run, from the worker that ran it (or collected it) to the grader."""

    program: str
    nodeid: str
    #: the check's test file and line: the order of the program's checks in the result
    order: tuple[str, int]
    check: CheckResult

    @classmethod
    def unjudged(cls, info: CheckInfo, nodeid: str, order: tuple[str, int], level: Level,
                 max_score: float) -> CheckRecord:
        """The check ``info`` declares, at the pack's ``level`` and points, before its verdict: an
        ``error`` with no message until one is given (``judged``)."""
        check = CheckResult(
            id=info.id, title="", level=level, status=Status.ERROR, score=0.0, max_score=float(max_score),
            message="", duration_s=0.0, evidence=no_evidence(), sheet=info.sheet, hint="")
        for name in ("title", "hint"):  # a fixed text is its own msgid; one made with parameters keeps its id
            msg = getattr(info, name)
            set_text(check, name, msg)
            if not isinstance(msg, Msg) or not msg.params:
                setattr(check, f"{name}_id", "")
        return cls(info.program, nodeid, order, check)

    def judged(self, status: Status, message: Any, duration_s: float = 0.0,
               evidence: dict[str, Any] | None = None) -> CheckRecord:
        """This check with its verdict (a new record; this one is unchanged); ``message`` a Msg or a msgid,
        kept in English (the grader renders it in the grading language)."""
        check = replace(self.check, status=Status(status), duration_s=duration_s,
                        evidence=evidence if evidence is not None else no_evidence())
        check.set_message(message)
        check.message = printable(check.message)
        return replace(self, check=check)

    @property
    def key(self) -> str:
        """``program/check``, as a pack and the CLI name it."""
        return f"{self.program}/{self.check.id}"

    def to_dict(self) -> dict[str, Any]:
        return {"program": self.program, "nodeid": self.nodeid, "order": list(self.order),
                "check": self.check.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckRecord:
        file, line = d["order"]
        return cls(d["program"], d["nodeid"], (file, int(line)), CheckResult.from_dict(d["check"]))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CheckRecord:
        return cls.from_dict(json.loads(text))


def write_index(path: str | Path, records: list[CheckRecord]) -> None:
    """Every collected check's record by node id, written through a rename (a reader never sees half)."""
    atomic_write(Path(path), json.dumps({r.nodeid: r.to_dict() for r in records}, ensure_ascii=False))


def read_index(path: str | Path) -> dict[str, CheckRecord]:
    """The index ``write_index`` wrote; OSError or ValueError when it is missing or unreadable."""
    data = json.loads(Path(path).read_text("utf-8"))
    try:
        return {nodeid: CheckRecord.from_dict(d) for nodeid, d in data.items()}
    except (AttributeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a check index ({type(exc).__name__}: {exc})") from None
