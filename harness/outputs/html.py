"""The HTML report: one self-contained page per submission, and a class report.

The page has no external resource (CSS is inlined, diagrams are inline SVG,
no script at all), so it opens from disk, offline, years later.  Templates
are rendered by jinja2 with autoescape on; everything a student program
produced reaches the page only as escaped text (never ``|safe``), after
control characters were written as escapes.  Whatever a program printed, the
page stays small: evidence is cut with a count of what was left out.
"""
from __future__ import annotations

import functools
import statistics
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import __version__
from ..evidence import PACKET_KINDS, Kind, event_text
from ..i18n import N_, norm_lang, t, translations, translator, word
from ..results import Result, notices_in, text_of
from ..verdicts import ProgramStatus, RunStatus, Status
from . import write_text
from .common import clip, head_tail, one_line, safe, shown_command


# Bounds that keep a report small (a few MB at most for the whole pack).
@dataclass(frozen=True)
class Limits:
    drawn: int = 80          # events drawn per diagram (the first 5/8 and the last 3/8)
    packets: int = 60        # rows of the packet table per check
    process_text: int = 4000  # characters of stdout / stderr kept per run
    stdin_text: int = 1000
    message_text: int = 4000
    tooltip: int = 300       # characters of a payload in an arrow's tooltip

    def tighter(self) -> Limits:
        return Limits(max(self.drawn // 4, 12), max(self.packets // 4, 8), max(self.process_text // 4, 300),
                      max(self.stdin_text // 4, 200), max(self.message_text // 2, 1000), max(self.tooltip // 4, 60))


LIMITS = Limits()
#: a page larger than this is rendered again with tighter limits (many checks, each at its limits)
PAGE_BUDGET = 3_000_000
LABEL_UNITS = 56        # width of an arrow label, CJK characters count twice
NOTE_UNITS = 50

# Diagram geometry (pixels).
W = 1040
PEER_X = 190
PROG_X = 640
TOP = 46
ROW = 24


def _templates_dir() -> Path:
    from netgrade import reports
    return Path(reports.__file__).resolve().parent


@functools.lru_cache(maxsize=4)
def _env(lang: str = "en") -> jinja2.Environment:
    """The templates' environment in ``lang``: jinja2's i18n extension over netgrade's catalog."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates_dir() / "templates")),
        autoescape=True,  # every {{ }} is escaped; student text is never marked safe
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)
    env.globals["word"] = lambda kind, value: word(kind, value, lang)
    return env


@functools.lru_cache(maxsize=1)
def _css() -> Markup:
    # Our own stylesheet, inlined so the file needs nothing else; it is the
    # only text marked safe, and it is read from the package, not from a result.
    css = (_templates_dir() / "static" / "report.css").read_text(encoding="utf-8")
    return Markup(css.replace("</", "<\\/"))


def _units(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def fit(text: str, units: int) -> str:
    """Cut ``text`` to about ``units`` columns (wide characters count twice)."""
    used = 0
    for i, ch in enumerate(text):
        used += _units(ch)
        if used > units:
            return text[: max(i - 1, 0)] + "…"
    return text


def _anchor(*parts: str) -> str:
    raw = "-".join(parts)
    return "c-" + "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in raw)


# ---------------------------------------------------------------- diagram

def _payload_label(e: dict[str, Any], lang: str = "en") -> str:
    if e.get("tftp"):
        return event_text(e, "tftp", lang)
    n = e.get("len")
    text = e.get("text", "")
    if n is None:
        return text
    return f"{text!s} ({n} B)" if text else f"({n} B)"


def _who_prefix(e: dict[str, Any], many: bool, lang: str = "en") -> str:
    """Name the peer on a label only when the check had several (else the lifeline says it)."""
    who = e.get("who") and safe(event_text(e, "who", lang), False)
    return f"[{who}] " if many and who else ""


def _is_reference(e: dict[str, Any]) -> bool:
    # Our reference programs run beside the student's in interop checks: they
    # stand on the peer's side of the diagram.
    return str(e.get("who") or "").startswith("reference")


def _arrow(y: int, from_peer: bool, label: str, cls: str, title: str, half: bool = False) -> dict[str, Any]:
    x1, x2 = (PEER_X, PROG_X) if from_peer else (PROG_X, PEER_X)
    if half:
        x2 = (x1 + x2) // 2
    d = 1 if x2 > x1 else -1
    head = f"{x2},{y} {x2 - 9 * d},{y - 4} {x2 - 9 * d},{y + 4}"
    return {"type": "arrow", "y": y, "x1": x1, "x2": x2, "head": head, "half": half,
            "lx": (PEER_X + PROG_X) // 2, "label": fit(label, LABEL_UNITS), "cls": cls, "title": title}


def _note(y: int, side: str, text: str, cls: str, title: str = "") -> dict[str, Any]:
    if side == "program":
        x, anchor, units = PROG_X + 10, "start", NOTE_UNITS
    elif side == "peer":
        x, anchor, units = PEER_X + 10, "start", LABEL_UNITS
    else:
        x, anchor, units = (PEER_X + PROG_X) // 2, "middle", LABEL_UNITS + 10
    return {"type": "note", "y": y, "x": x, "anchor": anchor, "text": fit(text, units), "cls": cls,
            "title": title or text}


@dataclass(frozen=True)
class _Ctx:
    """What a drawer needs besides the event: the translator, the label prefix, tooltip parts.

    ``text`` is the event's text in the report's language (a message recorded as one is rendered again;
    what the program sent or printed is as it was)."""
    tr: Any
    pre: str
    side: str
    text: str
    tip: str
    lim: Limits
    lang: str = "en"

    def field(self, e: dict[str, Any], name: str) -> str:
        return safe(event_text(e, name, self.lang), keep_newlines=False)


def _draw_packet(e: dict[str, Any], y: int, c: _Ctx) -> dict[str, Any]:
    kind = e["kind"]
    proto = (e.get("proto") or "").upper()
    note = c.field(e, "note")
    title = f"{proto} {c.tip}\n{c.text[:c.lim.tooltip]}\n{str(e.get('hex', ''))[:c.lim.tooltip]}".strip()
    if note:
        title = f"{note}\n{title}"
    label = c.pre + safe(_payload_label(e, c.lang), keep_newlines=False)
    return _arrow(y, kind == Kind.SENT, label, "sent" if kind == Kind.SENT else "recv", title)


def _draw_dropped(e: dict[str, Any], y: int, c: _Ctx) -> dict[str, Any]:
    what = c.field(e, "tftp") or c.text
    return _arrow(y, True, c.tr("dropped: {what}", what=what), "drop", c.text, half=True)


def _draw_timeout(e: dict[str, Any], y: int, c: _Ctx) -> dict[str, Any]:
    secs = e.get("waited_s")
    label = c.tr("timeout after {seconds} s", seconds=f"{secs:.2g}") if isinstance(secs, (int, float)) else c.text
    return _note(y, "peer", c.pre + label, "timeout", c.text)


def _draw_abort(e: dict[str, Any], y: int, c: _Ctx) -> dict[str, Any]:
    from_peer = "program" not in str(e.get("text", "")).lower()  # the English text says whose side reset
    return _arrow(y, from_peer, c.pre + c.tr("RST"), "rst", f"{c.text} {c.tip}")


def _control(from_peer: bool, key: str, cls: str):
    """A control arrow (connect, FIN, RST): the label is a fixed text, the tooltip the event's."""
    def draw(e: dict[str, Any], y: int, c: _Ctx) -> dict[str, Any]:
        return _arrow(y, from_peer, c.pre + c.tr(key), cls, f"{c.text} {c.tip}")
    return draw


#: how each evidence kind is drawn: one entry per :class:`netgrade.evidence.Kind` (a test checks it)
DRAWERS: dict[Kind, Any] = {
    Kind.SENT: _draw_packet,
    Kind.RECEIVED: _draw_packet,
    Kind.DROPPED: _draw_dropped,
    Kind.ICMP: lambda e, y, c: _arrow(y, False, c.pre + "ICMP: " + c.text, "drop", c.text),
    Kind.LISTEN: lambda e, y, c: _note(y, "peer", c.pre + c.text, "peernote"),
    Kind.CONNECT: _control(True, N_("connect"), "ctl"),
    Kind.ACCEPT: _control(False, N_("connect"), "ctl"),
    Kind.FIN: _control(False, N_("FIN"), "fin"),    # the program closed
    Kind.RST: _control(False, N_("RST"), "rst"),    # the program's side reset the connection
    Kind.SHUTDOWN: _control(True, N_("FIN"), "fin"),  # the peer half-closed
    Kind.CLOSE: _control(True, N_("FIN"), "fin"),
    Kind.ABORT: _draw_abort,
    Kind.TIMEOUT: _draw_timeout,
    Kind.NOTE: lambda e, y, c: _note(y, "middle", c.text, "remark"),
    Kind.DIALOGUE: lambda e, y, c: _note(y, "peer", c.pre + c.text, "peernote dialogue"),  # the lines said
    Kind.START: lambda e, y, c: _note(y, c.side, f"▶ {c.field(e, 'who')}: "
                                                 f"{safe(shown_command(e.get('command')), False)}", "proc"),
    Kind.EXIT: lambda e, y, c: _note(y, c.side, f"■ {c.field(e, 'who')}: {c.field(e, 'status')}", "proc"),
    Kind.STDIN: lambda e, y, c: _note(y, c.side, f"stdin ← {c.text}", "stdin", c.text),
    Kind.STDIN_CLOSED: lambda e, y, c: _note(y, c.side, "stdin ← EOF", "stdin"),
    Kind.STDOUT: lambda e, y, c: _note(y, c.side, f"stdout → {c.text}", "stdout", c.text),
    Kind.STDERR: lambda e, y, c: _note(y, c.side, f"stderr → {c.text}", "stderr", c.text),
}


def _row(e: dict[str, Any], y: int, tr, many: bool, lim: Limits, lang: str = "en") -> dict[str, Any] | None:
    kind = e.get("kind")
    text = safe(event_text(e, "text", lang), keep_newlines=False)
    try:
        draw = DRAWERS[Kind(kind)]
    except (ValueError, TypeError):  # a kind from another version's result: shown as a remark
        return _note(y, "middle", f"{kind}: {text}", "remark")
    tip = " · ".join(x for x in (e.get("src", ""), "→" if e.get("src") else "", e.get("dst", "")) if x)
    side = "peer" if _is_reference(e) else "program"
    return draw(e, y, _Ctx(tr, _who_prefix(e, many, lang), side, text, tip, lim, lang))


def diagram(evidence: dict[str, Any], tr, lim: Limits = LIMITS, lang: str = "en") -> dict[str, Any] | None:
    """The sequence diagram of a check's evidence; ``tr`` translates its fixed texts, ``lang`` is the language
    its recorded messages are rendered in."""
    events = [e for e in evidence.get("events") or [] if isinstance(e, dict)]
    if not events:
        return None
    if len(events) > lim.drawn:
        head = lim.drawn * 5 // 8
        shown = events[:head] + [{"kind": "_gap", "count": len(events) - lim.drawn}] \
            + events[-(lim.drawn - head):]
    else:
        shown = events
    many = len({e.get("who") for e in events
                if e.get("who") and e.get("kind") in ("sent", "received", "connect", "accept")}) > 1
    rows = []
    y = TOP + ROW // 2 + 8
    for e in shown:
        if e.get("kind") == "_gap":
            rows.append({"type": "gap", "y": y, "x": (PEER_X + PROG_X) // 2,
                         "text": tr("… {count} events not drawn …", count=e["count"]), "t": ""})
        else:
            row = _row(e, y, tr, many, lim, lang)
            if row is None:
                continue
            if len(row["title"]) > 2 * lim.tooltip:
                row["title"] = row["title"][: 2 * lim.tooltip] + "…"
            tval = e.get("t")
            row["t"] = f"{tval:.3f}" if isinstance(tval, (int, float)) else ""
            rows.append(row)
        y += ROW
    height = y + 4
    peers = sorted({str(e.get("who")) for e in events
                    if e.get("kind") in ("sent", "received", "connect", "accept", "dropped") and e.get("who")})
    refs = sorted({str(e.get("who")) for e in events if e.get("kind") == "start" and _is_reference(e)})
    progs = sorted({str(e.get("who")) for e in events if e.get("kind") == "start" and not _is_reference(e)})
    shown_as = {str(e.get("who")): safe(event_text(e, "who", lang), False) for e in events if e.get("who")}
    left = ([tr("netgrade peer")] if not peers and not refs else [] if peers == ["peer"] and refs else
            [tr("netgrade peer")] if peers == ["peer"] else [shown_as.get(p, p) for p in peers]) + refs
    return {"rows": rows, "width": W, "height": height, "peer_x": PEER_X, "prog_x": PROG_X, "top": TOP,
            "peer_label": fit(", ".join(left) or tr("netgrade peer"), 26),
            "prog_label": fit(", ".join(progs) if progs else tr("program", context="diagram"), 26),
            "dropped": int(evidence.get("events_dropped") or 0)}


def packets(evidence: dict[str, Any], lim: Limits = LIMITS, lang: str = "en") -> dict[str, Any]:
    rows = []
    total = 0
    for e in evidence.get("events") or []:
        if not isinstance(e, dict) or e.get("kind") not in PACKET_KINDS:
            continue
        total += 1
        if len(rows) >= lim.packets:
            continue
        tval = e.get("t")
        rows.append({"t": f"{tval:.3f}" if isinstance(tval, (int, float)) else "", "dir": {"sent": "→", "received": "←", "dropped": "✗"}[e["kind"]],
                     "who": one_line(str(e.get("who", "")), 40),
                     "decoded": one_line(event_text(e, "tftp", lang), 120),
                     "len": e.get("len", ""), "text": fit(one_line(str(e.get("text", "")), 400), 72),
                     "hex": fit(one_line(str(e.get("hex", "")), 400), 47)})
    return {"rows": rows, "more": total - len(rows), "tftp": any(r["decoded"] for r in rows)}


def _excerpt(text: str, limit: int) -> dict[str, Any]:
    # cut first, escape after: escaping a megabyte only to throw most of it away is slow
    head, tail, cut = head_tail(text, limit)
    return {"head": safe(head), "tail": safe(tail), "cut": cut}


def processes(evidence: dict[str, Any], lim: Limits = LIMITS, lang: str = "en") -> list[dict[str, Any]]:
    out = []
    for p in evidence.get("processes") or []:
        if not isinstance(p, dict):
            continue
        cmd = shown_command(p.get("command"))
        out.append({
            "label": one_line(str(p.get("label", "")), 80),
            "command": one_line(cmd, 300),
            "exit": one_line(event_text(p, "exit", lang), 300),
            "duration_s": p.get("duration_s"),
            "stdin": _excerpt(str(p.get("stdin", "")), lim.stdin_text),
            "stdout": _excerpt(str(p.get("stdout", "")), lim.process_text),
            "stderr": _excerpt(str(p.get("stderr", "")), lim.process_text),
            "stdout_dropped": int(p.get("stdout_dropped") or 0),
            "stderr_dropped": int(p.get("stderr_dropped") or 0),
        })
    return out


# ---------------------------------------------------------------- page

def _view(result: Result, lang: str, lim: Limits = LIMITS) -> dict[str, Any]:
    tr = translator(lang)
    programs = []
    for p in result.programs:
        checks = []
        for c in p.checks:
            ev = c.evidence if isinstance(c.evidence, dict) else {}
            msg, msg_cut = clip(c.text('message', lang) or "", lim.message_text)
            msg = safe(msg)
            checks.append({
                "id": c.id, "anchor": _anchor(p.id, c.id),
                "title": safe(c.text('title', lang), keep_newlines=False),
                "level": c.level, "status": c.status, "score": c.score, "max_score": c.max_score,
                "message": msg, "message_cut": msg_cut, "sheet": safe(c.sheet, False), "hint": safe(c.text('hint', lang)),
                "duration_s": c.duration_s, "flaky": c.flaky,
                "diagram": diagram(ev, tr, lim, lang), "packets": packets(ev, lim, lang),
                "processes": processes(ev, lim, lang),
                "went_wrong": c.status.went_wrong, "open": c.status.went_wrong,
            })
        counts = {s: sum(1 for c in p.checks if c.status == s) for s in Status}
        programs.append({
            "id": p.id, "anchor": _anchor(p.id), "file": safe(p.file or "", False), "status": p.status,
            "title": safe(t(p.title, lang) if p.title else "", False), "message": safe(text_of(p, 'message', lang)), "score": p.score, "max_score": p.max_score,
            "checks": checks, "counts": counts, "notices": [safe(n, False) for n in notices_in(p, lang)],
            "pct": (100.0 * p.score / p.max_score) if p.max_score else (100.0 if p.status == ProgramStatus.GRADED
                                                                        else 0.0),
        })
    return {
        "submission": safe(result.submission, False), "pack": safe(result.pack, False), "runner": result.runner,
        "score": result.score, "max_score": result.max_score, "started_at": result.started_at,
        "duration_s": result.duration_s, "status": result.status, "graded": result.status == RunStatus.GRADED,
        "message": safe(text_of(result, 'message', lang)),
        "notices": [safe(n) for n in notices_in(result, lang)], "passed": result.all_passed(),
        "pct": (100.0 * result.score / result.max_score) if result.max_score else 0.0,
        "version": result.netgrade_version or __version__, "programs": programs,
    }


def render(result: Result, lang: str | None = "en") -> str:
    """The report of one submission as a self-contained HTML page."""
    lang = norm_lang(lang)
    tpl = _env(lang).get_template("report.html.j2")
    lim = LIMITS
    while True:
        page = tpl.render(r=_view(result, lang, lim), lang=lang, css=_css())
        if len(page) <= PAGE_BUDGET or lim == lim.tighter():
            return page
        lim = lim.tighter()


def write(result: Result, path: str | Path, lang: str | None = "en") -> None:
    write_text(path, render(result, lang))


# ---------------------------------------------------------------- class report

def _histogram(pcts: list[float], tr) -> dict[str, Any]:
    bins = [0] * 10
    for v in pcts:
        bins[min(int(max(v, 0.0) // 10), 9)] += 1
    top = max(bins) or 1
    h, left, bottom, bar = 220, 44, 36, 48
    bars = []
    for i, n in enumerate(bins):
        bh = round((h - bottom - 16) * n / top)
        bars.append({"x": left + i * bar + 3, "y": h - bottom - bh, "w": bar - 6, "h": bh, "n": n,
                     "label": f"{i * 10}–{i * 10 + 10}" if i < 9 else "90–100", "cx": left + i * bar + bar // 2})
    return {"bars": bars, "width": left + 10 * bar + 10, "height": h, "base": h - bottom, "left": left,
            "top": top}


def safe_href(href: str | None) -> str | None:
    """A link the class report may carry: relative paths and http(s) only (no javascript:, data:...)."""
    if not href:
        return None
    href = str(href).strip()
    scheme, sep, _ = href.partition(":")
    if sep and "/" not in scheme and scheme.lower() not in ("http", "https", "file"):
        return None
    return href


def _rate_colour(rate: float | None) -> str:
    if rate is None:
        return "#eeeeee"
    # red (0 %) through amber to green (100 %); light enough for black text
    hue = round(120 * rate)
    return f"hsl({hue}, 70%, 78%)"


def class_view(results: list[Result], links: dict[str, str], lang: str) -> dict[str, Any]:
    """The class's figures over ``results`` (one per submission): the score histogram, mean and median,
    every check's pass rate, each submission's row (``links``: submission -> its report).  The class report
    renders it; the service's class overview (``service.web.class_summary``) shows the same figures."""
    # Every check seen in any result, in the order of first appearance (the pack's order).
    order: dict[tuple[str, str], dict[str, Any]] = {}
    prog_order: dict[str, dict[str, Any]] = {}
    for r in results:
        for p in r.programs:
            prog_order.setdefault(p.id, {"id": p.id, "scores": [], "max": 0.0})
            for c in p.checks:
                k = (p.id, c.id)
                if k not in order:
                    order[k] = {"program": p.id, "id": c.id, "level": c.level,
                                "title": safe(c.text('title', lang), False),
                                **{s: 0 for s in Status}, ProgramStatus.MISSING: 0}
                row = order[k]
                row[ProgramStatus.MISSING if p.status == ProgramStatus.MISSING else c.status] += 1
    students = []
    pcts = []
    for r in results:
        pct = (100.0 * r.score / r.max_score) if r.max_score else 0.0
        if r.status == RunStatus.GRADED:
            pcts.append(pct)
        by_prog = {p.id: p for p in r.programs}
        cells = []
        for pid, info in prog_order.items():
            p = by_prog.get(pid)
            if p is None:
                cells.append({"text": "", "colour": "#eeeeee", "title": pid})
                continue
            frac = (p.score / p.max_score) if p.max_score else (1.0 if p.status == ProgramStatus.GRADED else 0.0)
            info["scores"].append(p.score)
            info["max"] = max(info["max"], p.max_score)
            cells.append({"text": f"{p.score:g}", "colour": _rate_colour(frac if p.status != ProgramStatus.MISSING else 0.0),
                          "title": f"{pid}: {p.score:g}/{p.max_score:g} ({word('pstatus', p.status, lang)})"})
        students.append({"name": safe(r.submission, False), "href": safe_href(links.get(r.submission)),
                         "score": r.score, "max_score": r.max_score, "pct": pct,
                         "graded": r.status == RunStatus.GRADED,
                         "passed": r.all_passed(), "cells": cells,
                         "message": one_line(text_of(r, "message", lang), 200)})
    students.sort(key=lambda s: s["name"])
    rows = []
    for row in order.values():
        n = sum(row[s] for s in Status) + row[ProgramStatus.MISSING]
        counted = n - row[Status.SKIP]
        rate = row[Status.PASS] / counted if counted else None
        row.update(rate=rate, rate_text="–" if rate is None else f"{100 * rate:.0f} %",
                   colour=_rate_colour(rate), n=n)
        rows.append(row)
    tr = translator(lang)
    graded = [s for s in students if s["graded"]]
    max_score = max((r.max_score for r in results), default=0.0)
    scores = [s["score"] for s in graded]
    return {
        "students": students, "checks": rows, "programs": list(prog_order.values()),
        "histogram": _histogram(pcts, tr), "count": len(results),
        "mean": statistics.fmean(scores) if scores else 0.0,
        "median": statistics.median(scores) if scores else 0.0, "max_score": max_score,
        "all_passed": sum(1 for s in students if s["passed"]),
        "errors": sum(1 for s in students if not s["graded"]),
        "version": __version__,
    }


def _pairs_view(pairs: list[dict] | None) -> list[dict[str, Any]]:
    """Close pairs per program (netgrade.copycheck), student code made safe to show."""
    by_prog: dict[str, dict[str, Any]] = {}
    for p in pairs or []:
        entry = by_prog.setdefault(p["program"], {"program": safe(p["program"], False), "pairs": [], "more": 0})
        if not p.get("regions"):  # only the closest pairs carry regions (netgrade.copycheck.PAIRS_PER_PROGRAM)
            entry["more"] += 1
            continue
        entry["pairs"].append({
            "a": safe(p["a"], False), "b": safe(p["b"], False), "pct": round(100 * p["score"]),
            "shared": p["shared"],
            "regions": [{"a": r["a"], "b": r["b"], "a_text": safe(r["a_text"]), "b_text": safe(r["b_text"])}
                        for r in p.get("regions", [])],
        })
    return list(by_prog.values())


def render_class(results: list[Result], links: dict[str, str], lang: str | None = "en",
                 pairs: list[dict] | None = None) -> str:
    """One page for many results: score histogram, pass rate per check, links to each report.

    ``links`` maps a result's ``submission`` to the address (usually a relative
    path) of that submission's own report; a submission without one is listed
    without a link.
    """
    lang = norm_lang(lang)
    tpl = _env(lang).get_template("class.html.j2")
    view = class_view(results, links or {}, lang)
    view["pairs"] = _pairs_view(pairs)
    view["similarity_run"] = pairs is not None
    return tpl.render(v=view, lang=lang, css=_css())


def write_class(results: list[Result], links: dict[str, str], path: str | Path, lang: str | None = "en") -> None:
    write_text(path, render_class(results, links, lang))


__all__ = ["render", "render_class", "t", "write", "write_class"]
