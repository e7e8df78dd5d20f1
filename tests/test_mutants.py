"""Every mutant fails exactly the sheet lines it breaks.

A mutant is a broken variant of a program: ``tests/mutants/<program-id>/<name>.py``.
Its first lines declare what it must fail, as check keys::

    # fails: udp-send/one-datagram
    # fails: udp-send/non-ascii-and-long      (more lines if it breaks more)

The test grades the mutants in rounds (round i: the i-th mutant of every
program, one submission, each program graded with ``--program``) and asserts
that each program's set of failing must and should checks is exactly its
mutant's declared set: the line it breaks fails, and no other must or should
line does; no check is a grader error.  Extra-level
(informational) checks are not counted.  A mutant may declare
``# run: COMMAND`` to be started with ``--run``.

A mutant that is wrong only at the edge of its line (a small buffer, the
second client only, a Chinese payload only, a late packet only, recovery by
another route) says so, beside its ``# fails:`` line::

    # fails: udp-echo-server/echo
    # edge: udp-echo-server/echo

An edge mutant fails exactly the line(s) it is the edge of.  Every must and
should check of the default pack has at least one edge mutant (docs/sheet-audit.md names them).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import MUTANTS, grade, mutant_rounds, round_mismatches, round_submission
from english import untranslated_notes

DECL = re.compile(r"^#\s*(fails|edge|run|file):\s*(.+?)\s*$")



def _mutants() -> list[Path]:
    return sorted(p for p in MUTANTS.glob("*/*.py") if not p.name.startswith("_"))


def _declared(path: Path) -> tuple[set[str], list[str], str | None]:
    fails, runs, file = set(), [], None
    for line in path.read_text("utf-8").splitlines()[:12]:
        m = DECL.match(line)
        if m and m.group(1) == "fails":
            fails.add(m.group(2))
        elif m and m.group(1) == "run":
            runs.append(m.group(2))
        elif m and m.group(1) == "file":
            file = m.group(2)
    return fails, runs, file


def _edges(path: Path) -> set[str]:
    """The lines a mutant declares itself the edge mutant of (``# edge: PROGRAM/CHECK``)."""
    return {m.group(2) for line in path.read_text("utf-8").splitlines()[:12]
            if (m := DECL.match(line)) and m.group(1) == "edge"}


def _pack_file(program_id: str) -> str:
    import tomllib
    from importlib import resources
    data = tomllib.loads(resources.files("netgrade.packs").joinpath("default.toml").read_text("utf-8"))
    return data["programs"][program_id]["file"]


def _grade_and_compare(mutants: list[Path], tmp_path: Path) -> None:
    """Grade the round in Chinese: the verdicts are the declared ones, every failing check says why in
    Chinese (tests/english.py), in its message and in the evidence notes of its HTML report, and the result
    rendered again in English has the same verdicts."""
    for m in mutants:
        assert _declared(m)[0], f"{m}: declare the check(s) it fails with '# fails: PROGRAM/CHECK'"
    sub, args, expected = round_submission(tmp_path, mutants)
    result, proc = grade(sub, *args, "--lang", "zh", tmp=tmp_path)
    assert result["status"] == "graded", result.get("message")
    problems = round_mismatches(result, mutants, expected)
    assert not problems, "\n".join(problems) + "\n" + proc.stdout[-3000:]
    assert proc.returncode == 1
    problems = untranslated(result)
    assert not problems, "failing checks whose Chinese message keeps English sentences:\n" + "\n".join(problems)
    again = rendered_again(result, tmp_path, "en")
    assert verdicts(again) == verdicts(result)
    problems = untranslated_notes(html_report(tmp_path, "zh"))
    assert not problems, "evidence notes of failing checks in the Chinese HTML report keep English:\n" + \
        "\n".join(problems)


def untranslated(result: dict) -> list[str]:
    """Failing checks whose message (student data masked) has no Chinese or keeps an English sentence."""
    from english import english_sentences, has_chinese, masked

    from netgrade.i18n import Msg
    out = []
    for p in result["programs"]:
        for c in p["checks"]:
            if c["status"] != "fail":
                continue
            if not c.get("message_id"):
                out.append(f"{p['id']}/{c['id']}: a message without a template: {c['message'][:200]}")
                continue
            text = masked({"id": c["message_id"], "params": c["message_params"]},
                          lambda mid, params: Msg(mid, params).render("zh"))
            left = english_sentences(text)
            if left or not has_chinese(text):
                out.append(f"{p['id']}/{c['id']}: {left or 'no Chinese'} in: {c['message'][:400]}")
    return out


def rendered_again(result: dict, tmp_path: Path, lang: str) -> dict:
    """``result`` rendered again by ``netgrade report --lang LANG`` (its JSON)."""
    import json

    from conftest import netgrade
    src, out = tmp_path / "graded.json", tmp_path / f"again-{lang}.json"
    src.write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    proc = netgrade("report", str(src), "--lang", lang, "--json", str(out), timeout=120)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads(out.read_text("utf-8"))


def html_report(tmp_path: Path, lang: str) -> str:
    """The HTML report, in ``lang``, of the result ``rendered_again`` wrote (``netgrade report --html``)."""
    from conftest import netgrade
    out = tmp_path / f"report-{lang}.html"
    proc = netgrade("report", str(tmp_path / "graded.json"), "--lang", lang, "--html", str(out), timeout=120)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return out.read_text("utf-8")


def verdicts(result: dict) -> list[tuple]:
    return [(p["id"], c["id"], c["status"], c["score"]) for p in result["programs"] for c in p["checks"]] + \
        [("total", result["score"], result["max_score"])]


# Mutants are graded in rounds: round i holds the i-th mutant of every program, graded as one submission
# (each program's checks see only its own mutant, so a round proves what a grading per mutant would, at a
# fraction of the cost).  NETGRADE_EACH_MUTANT=1 grades one mutant per test instead, to look at one.
if os.environ.get("NETGRADE_EACH_MUTANT") == "1":
    @pytest.mark.parametrize("mutant", _mutants(), ids=lambda p: f"{p.parent.name}/{p.stem}")
    def test_mutant_fails_exactly_its_line(mutant: Path, tmp_path: Path):
        _grade_and_compare([mutant], tmp_path)
else:
    @pytest.mark.parametrize("index", range(len(mutant_rounds())),
                             ids=lambda i: f"round{i}:" + "+".join(m.stem for m in mutant_rounds()[i])[:80])
    def test_mutants_fail_exactly_their_lines(index: int, tmp_path: Path):
        _grade_and_compare(mutant_rounds()[index], tmp_path)


def _must_and_should_checks() -> list[str]:
    """Every must and should check of the default pack (PROGRAM/ID), as the suites define them."""
    from netgrade.catalog import collect_checks
    from netgrade.pack import load
    pack = load()
    keys = []
    for c in collect_checks():
        key = f"{c.program}/{c.id}"
        if c.program in pack.programs and pack.enabled(key) and pack.level_for(key, c.level) in ("must", "should"):
            keys.append(key)
    return keys


def test_every_edge_mutant_fails_exactly_its_edge_lines():
    """An edge mutant is wrong only at the edge of its line: it fails that line and nothing else."""
    wrong = []
    for m in _mutants():
        edges = _edges(m)
        fails, _, _ = _declared(m)
        if edges and edges != fails:
            wrong.append(f"{m.parent.name}/{m.name}: edge of {sorted(edges)} but fails {sorted(fails)}")
        wrong += [f"{m.parent.name}/{m.name}: edge of {e}, a check of another program"
                  for e in edges if not e.startswith(m.parent.name + "/")]
    assert not wrong, "\n".join(wrong)


def test_every_must_and_should_line_has_an_edge_mutant():
    """Each must and should check of the default pack has a mutant declaring ``# edge:`` for it."""
    covered = {e for m in _mutants() for e in _edges(m)}
    checks = _must_and_should_checks()
    assert checks, "no must or should checks found in the default pack"
    missing = [k for k in checks if k not in covered]
    assert not missing, f"must/should checks without an edge mutant ('# edge: PROGRAM/CHECK'): {', '.join(missing)}"
    unknown = sorted(covered - set(_must_and_should_checks()))
    assert not unknown, f"'# edge:' names checks that are not must or should checks of the default pack: {unknown}"
