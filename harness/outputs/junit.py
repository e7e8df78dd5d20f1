"""JUnit XML: one testcase per check, one testsuite per program.

The dialect GitLab, Jenkins and most CI viewers read: ``<testsuites>`` with
``tests/failures/errors/skipped/time`` counts, ``<testcase classname name
time>`` holding ``<failure>``, ``<error>`` or ``<skipped>``.  A failing check
carries its message (what was expected and what was seen) and hint.  Text
that XML 1.0 cannot carry (control characters) is written as escapes.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..i18n import N_, t
from ..results import Result, notices_in, text_of
from ..verdicts import ProgramStatus, RunStatus, Status
from . import write_text
from .common import one_line, xml_text

#: texts this module shows from inside f-strings (where Babel does not look), marked here
_MARKED = (N_("Hint"), N_("Sheet"))


MESSAGE_ATTR = 500      # a failure's message attribute: one line
BODY_TEXT = 8000        # a failure's body: message, hint, sheet


def _name(c, lang: str) -> str:
    return xml_text(f"{c.id}: {one_line(c.text('title', lang), 200)}")


def render(result: Result, lang: str | None = "en") -> str:
    root = ET.Element("testsuites", name=xml_text(f"netgrade {result.submission}"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if result.status != RunStatus.GRADED:
        suite = ET.SubElement(root, "testsuite", name="netgrade", tests="1", failures="0", errors="1",
                              skipped="0", time="0")
        case = ET.SubElement(suite, "testcase", classname="netgrade", name="grading", time="0")
        err = ET.SubElement(case, "error", message=xml_text(one_line(text_of(result, 'message', lang), MESSAGE_ATTR)),
                            type=t("grading failed", lang))
        err.text = xml_text(text_of(result, 'message', lang))
        totals["tests"] += 1
        totals["errors"] += 1
    for p in result.programs:
        n = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(root, "testsuite", name=xml_text(p.id))
        seconds = 0.0
        if p.status == ProgramStatus.MISSING:
            case = ET.SubElement(suite, "testcase", classname=xml_text(p.id), name=xml_text(
                f"(program file) {p.file or ''}".strip()), time="0")
            f = ET.SubElement(case, "failure", message=xml_text(one_line(text_of(p, 'message', lang) or t("program file missing", lang),
                                                                         MESSAGE_ATTR)), type=ProgramStatus.MISSING)
            f.text = xml_text(text_of(p, 'message', lang) or t("program file missing", lang))
            n["tests"] += 1
            n["failures"] += 1
        for c in p.checks:
            n["tests"] += 1
            seconds += c.duration_s or 0.0
            case = ET.SubElement(suite, "testcase", classname=xml_text(p.id),
                                 name=_name(c, lang), time=f"{c.duration_s or 0:.3f}")
            body = "\n".join(x for x in (
                c.text('message', lang),
                f"{t('Hint', lang)}: {c.text('hint', lang)}" if c.text('hint', lang) else "",
                f"{t('Sheet', lang)}: {c.sheet}" if c.sheet else "",
                f"level: {c.level}; points: {c.score:g}/{c.max_score:g}",
            ) if x)
            if c.status == Status.PASS:
                continue
            if c.status == Status.SKIP:
                ET.SubElement(case, "skipped", message=xml_text(one_line(c.text('message', lang), MESSAGE_ATTR)))
                n["skipped"] += 1
                continue
            tag = "failure" if c.status == Status.FAIL else "error"
            el = ET.SubElement(case, tag, message=xml_text(one_line(c.text('message', lang), MESSAGE_ATTR)),
                               type=f"{c.level}")
            el.text = xml_text(body[:BODY_TEXT])
            n["failures" if tag == "failure" else "errors"] += 1
        for k, v in n.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{seconds:.3f}")
        if notices_in(p, lang):
            ET.SubElement(suite, "system-out").text = xml_text("\n".join(notices_in(p, lang)))
        if p.status == ProgramStatus.ERROR and text_of(p, 'message', lang):
            ET.SubElement(suite, "system-err").text = xml_text(text_of(p, 'message', lang))
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{result.duration_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(result: Result, path: str | Path, lang: str | None = "en") -> None:
    write_text(path, render(result, lang))
