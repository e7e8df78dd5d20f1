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
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from . import RESULT_SCHEMA
from .atomicfile import atomic_write
from .i18n import Msg, localized, message, params_json
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
    #: ``message`` is rendered in the grading language from its English template (a gettext msgid) and its
    #: parameters (display strings, numbers, or nested {"id", "params"}); "" for a message without one
    message_id: str = ""
    message_params: dict[str, Any] = field(default_factory=dict)
    #: a title or hint made with parameters (a port of the pack); "" for a fixed one (its text is the msgid)
    title_id: str = ""
    title_params: dict[str, Any] = field(default_factory=dict)
    hint_id: str = ""
    hint_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.level = Level(self.level)
        self.status = Status(self.status)

    @property
    def counts(self) -> bool:
        """True when this check decides the exit status (must and should)."""
        return self.level.counts

    def to_dict(self) -> dict[str, Any]:
        return plain(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckResult":
        return cls(**d)

    def set_message(self, msg: Any, lang: str | None = "en") -> None:
        set_text(self, "message", msg, lang)

    def text(self, name: str, lang: str | None) -> str:
        """The check's ``title``, ``hint`` or ``message`` in ``lang``."""
        return text_of(self, name, lang)


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
    #: ``message``'s template and parameters (see CheckResult)
    message_id: str = ""
    message_params: dict[str, Any] = field(default_factory=dict)
    #: each notice's {"id", "params"}, in the order of ``notices``
    notice_messages: list[dict[str, Any]] = field(default_factory=list)

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
    #: the language ``message`` texts are rendered in ("" before they were rendered for a report); every
    #: report can be rendered in another one
    lang: str = ""
    message_id: str = ""
    message_params: dict[str, Any] = field(default_factory=dict)
    notice_messages: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = RunStatus(self.status)

    def to_dict(self) -> dict[str, Any]:
        d = plain(self)
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


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: what ``dataclasses.asdict`` gives, at a fraction of its cost (its deep
    copy of every leaf was a third of a second for a whole pack's result); containers are new, leaves (strings,
    numbers, the str enums) shared; a message is its ``{"id", "params"}``."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Msg):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    return value


def set_text(obj: Any, name: str, msg: Any, lang: str | None = "en") -> None:
    """Set ``obj.<name>`` (rendered in ``lang``) with its ``<name>_id`` and ``<name>_params`` from ``msg``."""
    msg = message(msg)
    setattr(obj, name, msg.render(lang))
    setattr(obj, f"{name}_id", msg.id)
    setattr(obj, f"{name}_params", params_json(msg.params))


def text_of(obj: Any, name: str, lang: str | None) -> str:
    """``obj.<name>`` in ``lang``, from its id and parameters when it has them."""
    return localized(getattr(obj, name), getattr(obj, f"{name}_id", ""), getattr(obj, f"{name}_params", {}), lang)


def add_notice(holder: Any, msg: Any, lang: str | None = "en") -> None:
    """Add a notice to a Result or ProgramResult, keeping its template and parameters."""
    msg = message(msg)
    holder.notices.append(msg.render(lang))
    holder.notice_messages.append(msg.to_json())


def notices_in(holder: Any, lang: str | None) -> list[str]:
    """A Result's or ProgramResult's notices in ``lang`` (those without a template looked up as they are)."""
    out = []
    for i, text in enumerate(holder.notices):
        d = holder.notice_messages[i] if i < len(holder.notice_messages) else None
        out.append(Msg.from_json(d).render(lang) if d else localized(text, "", {}, lang))
    return out


def localize(result: Result, lang: str | None) -> Result:
    """Render every message of ``result`` again in ``lang`` (the statuses and scores are untouched)."""
    result.lang = lang or "en"
    for holder in [result, *result.programs]:
        if holder.message_id:
            holder.message = text_of(holder, "message", lang)
        if holder.notice_messages:
            holder.notices = notices_in(holder, lang)
    for p in result.programs:
        for c in p.checks:
            if c.message_id:
                c.message = text_of(c, "message", lang)
    return result


def score_program(p: ProgramResult) -> None:
    for c in p.checks:
        c.score = c.max_score if c.status == Status.PASS else 0.0
    p.score = sum(c.score for c in p.checks)
    if p.status == ProgramStatus.GRADED or p.checks:
        p.max_score = sum(c.max_score for c in p.checks)


def total(result: Result) -> None:
    result.score = round(sum(p.score for p in result.programs), 3)
    result.max_score = round(sum(p.max_score for p in result.programs), 3)
