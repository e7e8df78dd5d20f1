"""Near-copy detection: the calibration of the reference-copy notice, and class pairs.

The calibration (README, "Similarity") is checked here on both sides of the
default pack's threshold:

- not flagged: the realistic student programs, the mutants of seed code and
  the hand-written student-style mutants, every program of the seed notes
  (against every reference), the variants;
- flagged: every reference disguised programmatically (identifiers renamed
  with ``ast``, reformatted by ``ast.unparse`` and re-indented, comments,
  blank lines and a docstring added), and the mutants that are edited copies
  of a reference (they start with the reference's docstring).
"""
from __future__ import annotations

import ast
import csv
from html import unescape
import builtins
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MUTANTS, ROOT

from netgrade import copycheck
from netgrade import similarity as sim
from netgrade.outputs import gradescope, html, junit, markdown
from netgrade.pack import PackError, load
from netgrade.results import ProgramResult, Result
from netgrade.seedcode import extract, seed_programs

PACK = load()
THRESHOLD = PACK.similarity["reference_threshold"]
REALISTIC = ROOT / "tests" / "realistic" / "submission"
VARIANTS = ROOT / "tests" / "variants"
SEEDS = ROOT.parent.parent / "shared" / "seeds"


def ref_text(pid: str) -> str:
    return (ROOT / "reference" / PACK.programs[pid].file).read_text("utf-8")


def ref_score(pid: str, source: str) -> float:
    """How much of our reference for ``pid`` is found in ``source``."""
    return sim.compare(sim.fingerprint(source), sim.fingerprint(ref_text(pid)))


# ------------------------------------------------------------------ disguises

class _Rename(ast.NodeTransformer):
    """Every name the program binds itself (variables, functions, classes, arguments) gets a new one."""

    def __init__(self, names: set[str]) -> None:
        self.new = {n: f"v{i}_{n[::-1].strip('_')}x" for i, n in enumerate(sorted(names))}

    def visit_Name(self, node):
        node.id = self.new.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.new.get(node.arg, node.arg)
        return node

    def _def(self, node):
        node.name = self.new.get(node.name, node.name)
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _def

    def visit_keyword(self, node):  # f(x=...) names a parameter: keep it in step with the def
        if node.arg in self.new:
            node.arg = self.new[node.arg]
        self.generic_visit(node)
        return node

    def visit_Global(self, node):
        node.names = [self.new.get(n, n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    keep = set(dir(builtins)) | {"self", "cls", "__name__"}
    return {n for n in names if n not in keep and not n.startswith("__")}


def disguise(source: str, seed: int = 0) -> str:
    """A copy a student could hand in: renamed, reformatted, re-commented; it still compiles."""
    rnd = random.Random(seed)
    tree = ast.parse(source)
    tree = _Rename(_bound_names(tree)).visit(tree)
    code = ast.unparse(ast.fix_missing_locations(tree))  # comments gone, quotes and spacing its own
    out = ['"""My own solution, written from scratch."""', ""]
    for line in code.splitlines():
        body = line.lstrip(" ")
        indent = "  " * ((len(line) - len(body)) // 4)  # 2-space indentation
        if body and rnd.random() < 0.3:
            out.append(f"{indent}# {rnd.choice(['now', 'here we', 'then'])} {rnd.choice(['do it', 'go on', 'check'])}")
        if rnd.random() < 0.15:
            out.append("")
        out.append(indent + body)
    text = "\n".join(out) + "\n"
    compile(text, "<disguised>", "exec")
    return text


def _reference_derived(path: Path) -> bool:
    """A mutant that is an edited copy of our reference (it carries the reference's docstring)."""
    return bool(re.search(r'^"""[\w-]+ \(sheet: ', path.read_text("utf-8", errors="replace"), re.M))


def _seed_mutant(path: Path) -> bool:
    head = "".join(path.read_text("utf-8", errors="replace").splitlines(True)[:6])
    return "seed" in path.name or bool(re.search(r"as printed|as written|seed", head))


def _mutants(kind: str) -> list[tuple[str, Path]]:
    out = []
    for pid in PACK.programs:
        for f in sorted((MUTANTS / pid).glob("*.py")):
            derived, seed = _reference_derived(f), _seed_mutant(f)
            if (kind == "reference" and derived) or (kind == "seed" and seed and not derived) or \
                    (kind == "student" and not derived and not seed):
                out.append((pid, f))
    return out


# ------------------------------------------------------------------ the method

def test_renaming_comments_and_layout_change_no_symbol():
    src = "import socket\ns = socket.socket()  # make it\nif s:\n    s.send(b'hi')\n"
    other = ('"""doc"""\nimport socket\n\n# a comment\nsock   =  socket.socket(\n)\nif sock :\n'
             '        sock.send("other text")\n')
    assert [s.text for s in sim.symbols(src)] == [s.text for s in sim.symbols(other)]
    assert sim.compare(sim.fingerprint(other), sim.fingerprint(src)) == 1.0


def test_different_structure_is_not_similar():
    a = "import socket\ns = socket.socket()\nwhile True:\n    d = s.recv(1)\n    if not d:\n        break\n"
    b = "for i in range(10):\n    print(i, i * i, i ** 3)\nclass A:\n    def f(self):\n        return [x for x in 'ab']\n"
    assert sim.compare(sim.fingerprint(a), sim.fingerprint(b)) == 0.0


def test_broken_code_is_still_fingerprinted():
    broken = ref_text("udp-send") + "\n  def oops(:\n    '''never closed\n"
    assert ref_score("udp-send", broken) >= THRESHOLD


def test_fingerprints_are_the_same_in_every_process():
    code = ("import sys\nsys.path.insert(0, %r)\nfrom harness import similarity as s\n"
            "print(sorted(s.fingerprint(open(%r).read()).hashes))") % (str(ROOT), str(ROOT / "reference" / "tcp_qq_server.py"))
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(runs) == 1 and len(json.loads(runs.pop())) > 10


def test_gbk_source_is_read():
    text = ref_text("udp-send") + "# 中文注释\n"
    assert copycheck.sim.decode(text.encode("gbk")) == text


# ------------------------------------------------------------------ calibration: flagged

@pytest.mark.parametrize("pid", sorted(PACK.programs))
@pytest.mark.parametrize("seed", [0, 1])
def test_disguised_reference_is_flagged(pid, seed):
    disguised = disguise(ref_text(pid), seed)
    assert disguised != ref_text(pid)
    assert ref_score(pid, disguised) >= THRESHOLD


def test_reference_derived_mutants_are_flagged():
    derived = _mutants("reference")
    assert len(derived) >= 20
    low = [(f.name, round(ref_score(pid, f.read_text("utf-8")), 2)) for pid, f in derived
           if ref_score(pid, f.read_text("utf-8")) < THRESHOLD]
    assert not low


# ------------------------------------------------------------------ calibration: not flagged

def test_realistic_student_programs_are_not_flagged():
    files = [(pid, REALISTIC / p.file) for pid, p in PACK.programs.items() if (REALISTIC / p.file).is_file()]
    assert len(files) >= 15
    high = [(f.name, ref_score(pid, sim.decode(f.read_bytes()))) for pid, f in files]
    assert max(s for _, s in high) < THRESHOLD, high


@pytest.mark.parametrize("kind", ["seed", "student"])
def test_mutants_of_seed_and_student_code_are_not_flagged(kind):
    mutants = _mutants(kind)
    assert len(mutants) >= (10 if kind == "seed" else 50)
    high = [(f"{pid}/{f.name}", round(ref_score(pid, sim.decode(f.read_bytes())), 2)) for pid, f in mutants]
    assert [h for h in high if h[1] >= THRESHOLD] == []


def test_variants_are_not_flagged():
    files = [(d.name, f) for d in sorted(VARIANTS.iterdir()) for f in sorted(d.glob("*.py"))]
    assert len(files) >= 15
    assert [f.name for pid, f in files if ref_score(pid, sim.decode(f.read_bytes())) >= THRESHOLD] == []


def test_seed_programs_are_not_flagged_against_any_reference():
    seeds = seed_programs()
    assert len(seeds) >= 20
    worst = max((ref_score(pid, s["code"]), pid, s["source"]) for s in seeds for pid in PACK.programs)
    assert worst[0] < THRESHOLD, worst


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed notes (shared/seeds) are not beside this checkout")
def test_shipped_seed_programs_are_those_of_the_notes():
    found = [code for p in sorted(SEEDS.glob("*.txt")) for code in extract(p.read_text("utf-8"))]
    assert found == [s["code"] for s in seed_programs()]


# ------------------------------------------------------------------ the notice in a result

def _result_for(tmp_path: Path, files: dict[str, str]) -> Result:
    for name, text in files.items():
        (tmp_path / name).write_text(text, "utf-8")
    progs = [ProgramResult(id=pid, file=PACK.programs[pid].file, status="graded", score=2, max_score=2)
             for pid in files and [p for p in PACK.programs if PACK.programs[p].file in files]]
    return Result(submission="alice", pack=PACK.name, runner="local", score=4, max_score=4,
                  started_at="2024-01-01T00:00:00+00:00", duration_s=1.0, programs=progs)


def test_notice_in_every_output_and_never_a_fail(tmp_path):
    copied = disguise(ref_text("tcp-qq-server"))
    own = (REALISTIC / "udp_send.py").read_bytes().decode("utf-8", errors="replace")
    r = _result_for(tmp_path, {"tcp_qq_server.py": copied, "udp_send.py": own})
    copycheck.annotate_result(r, tmp_path, PACK)
    qq, send = (next(p for p in r.programs if p.id == pid) for pid in ("tcp-qq-server", "udp-send"))
    assert qq.reference_similarity["flagged"] and not send.reference_similarity["flagged"]
    assert send.reference_similarity["score"] < THRESHOLD <= qq.reference_similarity["score"]
    pct = round(100 * qq.reference_similarity["score"])
    text = f"{pct}% similar to netgrade's reference tcp_qq_server.py"
    assert qq.notices == [text] and not send.notices
    assert r.score == 4 and qq.score == 2  # a notice, not a fail
    back = Result.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.programs[0].reference_similarity == r.programs[0].reference_similarity
    outputs = {"html": unescape(html.render(r)), "junit": unescape(junit.render(r)), "markdown": markdown.render(r).replace("\\", ""),
               "gradescope": json.dumps(gradescope.render(r), ensure_ascii=False), "json": json.dumps(r.to_dict())}
    assert [k for k, v in outputs.items() if text not in v] == []
    assert unescape(html.render(r)).count(text) == 2  # the notices and the program's card
    assert outputs["markdown"].count(text) == 2
    assert copycheck.reference_cell(r) == f"tcp-qq-server {pct}%"


def test_pack_threshold_is_validated_and_used(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[similarity]\nreference_threshold = 1.5\n")
    with pytest.raises(PackError, match=r"similarity\.reference_threshold: must be a share"):
        load(bad)
    strict = tmp_path / "strict.toml"
    strict.write_text("[similarity]\nreference_threshold = 0.05\n")
    pack = load(strict)
    r = _result_for(tmp_path, {"tcp_qq_server.py": (REALISTIC / "tcp_qq_server.py").read_bytes().decode()})
    copycheck.annotate_result(r, tmp_path, pack)
    assert r.programs[0].reference_similarity["flagged"]  # 0.05 is far below what realistic code reaches


# ------------------------------------------------------------------ class pairs

def test_class_pairs_find_copies_and_subtract_the_base():
    mine = sim.decode((REALISTIC / "framed_server.py").read_bytes())  # 33 fingerprints of its own
    seed = next(s["code"] for s in seed_programs() if s["source"] == "001 #11")
    other = (MUTANTS / "framed-server" / "naive_recv1024.py").read_text("utf-8")
    sources = {"framed-server": {"alice": mine, "bob": disguise(mine, 3), "carol": other,
                                 "dan": seed, "erin": seed + "\n# same seed, other comment\n"}}
    pairs = copycheck.class_pairs(sources, PACK)
    assert [(p.a, p.b) for p in pairs] == [("alice", "bob")]
    assert pairs[0].score >= PACK.similarity["pair_threshold"] and pairs[0].regions
    pct = round(100 * pairs[0].score)
    assert copycheck.gradebook_cells(pairs) == {"alice": f"bob: framed-server {pct}%", "bob": f"alice: framed-server {pct}%"}


def test_class_report_shows_regions_escaped():
    hostile = "<script>alert(1)</script>"
    pair = {"program": "tcp-qq-server", "a": "alice<b>", "b": "bob", "score": 0.9, "shared": 20,
            "regions": [{"a": [1, 2], "b": [3, 4], "a_text": f"x = '{hostile}'", "b_text": "y = '\x1b[31m'"}]}
    page = html.render_class([], {}, "en", [pair])
    assert hostile not in page and "&lt;script&gt;" in page and "alice&lt;b&gt;" in page
    assert "\x1b" not in page and "lines 3–4" in page and "90%" in page
    assert "No pair" in html.render_class([], {}, "en", []) and "Similar submissions" not in html.render_class([], {})


def test_batch_writes_pairs_to_gradebook_and_class_report(tmp_path):
    from netgrade.batch import Entry, write_aggregates
    mine = sim.decode((REALISTIC / "framed_server.py").read_bytes())
    codes = {"alice": mine, "bob": disguise(mine, 5), "carol": (MUTANTS / "framed-server" / "raw_echo.py").read_text()}
    subs, out = tmp_path / "subs", tmp_path / "out"
    entries = []
    for name, code in codes.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "framed_server.py").write_text(code, "utf-8")
        entries.append(Entry(name, str(subs / name)))
        r = Result(submission=name, pack=PACK.name, runner="local", score=2, max_score=2, started_at="x",
                   duration_s=1.0, programs=[ProgramResult(id="framed-server", file="framed_server.py",
                                                           status="graded", score=2, max_score=2)])
        r.write_json(out / name / "result.json")
        (out / name / "batch.json").write_text(json.dumps({"status": "graded"}))
    copycheck.batch_similarity(out, entries, ["framed-server"], PACK, enabled=True)
    write_aggregates(out, entries, ["framed-server"], "en")
    book = {row["name"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert book["alice"]["similar_to"].startswith("bob: framed-server ") and book["carol"]["similar_to"] == ""
    index = unescape((out / "index.html").read_text())
    assert "<b>alice</b> ↔ <b>bob</b>" in index and "Similar submissions" in index
    copycheck.batch_similarity(out, entries, ["framed-server"], PACK, enabled=False)  # --no-similarity
    write_aggregates(out, entries, ["framed-server"], "en")
    assert not (out / "similarity.json").exists() and "Similar submissions" not in (out / "index.html").read_text()
    book = {row["name"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert book["alice"]["similar_to"] == ""
