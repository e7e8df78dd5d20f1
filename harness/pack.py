"""The course pack: which programs exist, their files, ports, texts and points.

The default pack ships as ``harness/packs/default.toml``.  An instructor's
``--pack FILE`` is merged over it key by key, so an override file only holds
what changes.  Every value is validated; a problem is reported as one line
naming the file and the dotted key (``my.toml: programs.udp-send.port: ...``).
"""
from __future__ import annotations

import copy
import ipaddress
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .verdicts import Level

#: the sheet's levels, in its order (``verdicts.Level``)
LEVELS = tuple(Level)
DEFAULT_PACK = "default.toml"


class PackError(Exception):
    """A pack file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Program:
    id: str
    file: str
    aliases: tuple[str, ...]
    family: str
    role: str
    transport: str
    port: int
    sheet: str
    title: str
    expect: dict[str, Any]
    run: str | None = None
    stdin_prelude: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every file name that may hold this program, default first."""
        return (self.file, *self.aliases)


@dataclass(frozen=True)
class Limits:
    ready_s: float
    step_s: float
    check_s: float
    cpu_s: int
    memory_mb: int
    file_mb: int
    processes: int
    output_kib: int
    disk_mb: int = 256


@dataclass(frozen=True)
class Pack:
    name: str
    title: str
    lang: str
    lab_addresses: tuple[str, ...]
    points: dict[str, float]
    limits: Limits
    programs: dict[str, Program]
    checks: dict[str, dict[str, Any]]
    sources: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    #: [similarity]: reference_threshold, pair_threshold (shares from 0 to 1)
    similarity: dict[str, float] = field(default_factory=dict)

    def points_for(self, check_key: str, level: Level) -> float:
        override = self.checks.get(check_key, {})
        return float(override.get("points", self.points[level]))

    def level_for(self, check_key: str, level: Level) -> Level:
        """The check's level: the pack's ``[checks."PROGRAM/ID"] level``, else the suite's."""
        return Level(self.checks.get(check_key, {}).get("level", level))

    def enabled(self, check_key: str) -> bool:
        return bool(self.checks.get(check_key, {}).get("enabled", True))

    def to_dict(self) -> dict[str, Any]:
        """The merged pack as plain data (it travels to pytest workers as JSON)."""
        return copy.deepcopy(self.raw)


# --------------------------------------------------------------- schema
# Each leaf is (type or tuple of types, required, extra validator or None).

def _port(v: Any) -> str | None:
    return None if 0 < v < 65536 else "must be a port number from 1 to 65535"


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be greater than 0"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must not be negative"


def _role(v: Any) -> str | None:
    return None if v in ("client", "server") else "must be 'client' or 'server'"


def _transport(v: Any) -> str | None:
    return None if v in ("udp", "tcp") else "must be 'udp' or 'tcp'"


def _lang(v: Any) -> str | None:
    return None if v in ("en", "zh") else "must be 'en' or 'zh'"


def _level(v: Any) -> str | None:
    return None if v in LEVELS else f"must be one of {', '.join(LEVELS)}"


def _addresses(v: Any) -> str | None:
    for item in v:
        if not isinstance(item, str):
            return "must be a list of IPv4 addresses"
        try:
            addr = ipaddress.IPv4Address(item)
        except ValueError:
            return f"{item!r} is not an IPv4 address"
        if addr.is_loopback or addr.is_unspecified or addr.is_multicast:
            return f"{item!r} cannot be a lab address (loopback, unspecified or multicast)"
    return None


def _share(v: Any) -> str | None:
    return None if 0 < v <= 1 else "must be a share from 0 to 1 (0.5 is 50 %), greater than 0"


def _strings(v: Any) -> str | None:
    return None if all(isinstance(x, str) for x in v) else "must be a list of strings"


NUM = (int, float)
SCHEMA: dict[str, Any] = {
    "pack": {
        "name": (str, True, None),
        "title": (str, True, None),
        "lang": (str, False, _lang),
        "lab_addresses": (list, True, _addresses),
    },
    "points": {lvl: (NUM, True, _non_negative) for lvl in LEVELS},
    "limits": {
        "ready_s": (NUM, True, _positive),
        "step_s": (NUM, True, _positive),
        "check_s": (NUM, True, _positive),
        "cpu_s": (int, True, _positive),
        "memory_mb": (int, True, _positive),
        "file_mb": (int, True, _positive),
        "processes": (int, True, _positive),
        "output_kib": (int, True, _positive),
        "disk_mb": (int, False, _positive),
    },
    "similarity": {
        "reference_threshold": (NUM, True, _share),
        "pair_threshold": (NUM, True, _share),
    },
}
PROGRAM_SCHEMA: dict[str, Any] = {
    "file": (str, True, None),
    "aliases": (list, False, _strings),
    "family": (str, True, None),
    "role": (str, True, _role),
    "transport": (str, True, _transport),
    "port": (int, True, _port),
    "sheet": (str, False, None),
    "title": (str, True, None),
    "expect": (dict, False, None),
    "run": (str, False, None),
    "stdin_prelude": (list, False, _strings),
}
CHECK_SCHEMA: dict[str, Any] = {
    "points": (NUM, False, _non_negative),
    "level": (str, False, _level),
    "enabled": (bool, False, None),
}


def _type_name(t: Any) -> str:
    if t is NUM:
        return "a number"
    return {str: "a string", int: "an integer", list: "a list", dict: "a table", bool: "true or false"}[t]


def _check_leaf(value: Any, spec: tuple, where: str, source: str) -> None:
    typ, _required, extra = spec
    ok = isinstance(value, typ) and not (isinstance(value, bool) and typ in (int, NUM))
    if not ok:
        raise PackError(f"{source}: {where}: must be {_type_name(typ)}, got {value!r}")
    if extra is not None:
        problem = extra(value)
        if problem:
            raise PackError(f"{source}: {where}: {problem}")


def _check_table(data: Any, schema: dict, where: str, source: str, partial: bool) -> None:
    if not isinstance(data, dict):
        raise PackError(f"{source}: {where}: must be a table")
    for key, value in data.items():
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise PackError(f"{source}: {where}.{key}: unknown key (known: {known})")
        _check_leaf(value, schema[key], f"{where}.{key}", source)
    if not partial:
        for key, spec in schema.items():
            if spec[1] and key not in data:
                raise PackError(f"{source}: {where}.{key}: missing")


def validate(data: dict[str, Any], source: str, partial: bool) -> None:
    """Raise PackError for the first problem; ``partial`` allows missing keys."""
    top = set(SCHEMA) | {"programs", "checks"}
    for key in data:
        if key not in top:
            raise PackError(f"{source}: {key}: unknown section (known: {', '.join(sorted(top))})")
    for section, schema in SCHEMA.items():
        if section in data:
            _check_table(data[section], schema, section, source, partial)
        elif not partial:
            raise PackError(f"{source}: {section}: missing section")
    programs = data.get("programs", {})
    if not isinstance(programs, dict):
        raise PackError(f"{source}: programs: must be a table of programs")
    for pid, entry in programs.items():
        _check_table(entry, PROGRAM_SCHEMA, f"programs.{pid}", source, partial)
    checks = data.get("checks", {})
    if not isinstance(checks, dict):
        raise PackError(f"{source}: checks: must be a table")
    for cid, entry in checks.items():
        if "/" not in cid:
            raise PackError(f"{source}: checks.{cid}: a check key is 'PROGRAM/CHECK', e.g. 'udp-send/one-datagram'")
        _check_table(entry, CHECK_SCHEMA, f"checks.{cid}", source, True)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read(path: Path | None, source: str) -> dict[str, Any]:
    try:
        if path is None:
            text = resources.files("netgrade.packs").joinpath(DEFAULT_PACK).read_text("utf-8")
        else:
            text = path.read_text("utf-8")
    except FileNotFoundError:
        raise PackError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{source}: cannot read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{source}: not valid TOML: {exc}") from None


def load(override: str | Path | None = None) -> Pack:
    """The default pack, with ``override`` (a TOML file) merged over it."""
    data = _read(None, "default pack")
    validate(data, "default pack", partial=False)
    sources = ["default"]
    if override is not None:
        path = Path(override)
        over = _read(path, str(path))
        validate(over, str(path), partial=True)
        data = _merge(data, over)
        # A program the override adds must be complete: name the override file.
        validate(data, str(path), partial=False)
        sources.append(str(path))
    return from_dict(data, tuple(sources))


def from_dict(data: dict[str, Any], sources: tuple[str, ...] = ("default",)) -> Pack:
    programs = {}
    for pid, e in data["programs"].items():
        programs[pid] = Program(
            id=pid,
            file=e["file"],
            aliases=tuple(e.get("aliases", ())),
            family=e["family"],
            role=e["role"],
            transport=e["transport"],
            port=e["port"],
            sheet=e.get("sheet", ""),
            title=e["title"],
            expect=dict(e.get("expect", {})),
            run=e.get("run"),
            stdin_prelude=tuple(e.get("stdin_prelude", ())),
        )
    p = data["pack"]
    return Pack(
        name=p["name"],
        title=p["title"],
        lang=p.get("lang", ""),
        lab_addresses=tuple(p["lab_addresses"]),
        points={k: float(v) for k, v in data["points"].items()},
        limits=Limits(**data["limits"]),
        programs=programs,
        checks=dict(data.get("checks", {})),
        sources=sources,
        raw=data,
        similarity={k: float(v) for k, v in data["similarity"].items()},
    )
