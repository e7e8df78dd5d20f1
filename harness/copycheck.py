"""Near-copies: a program against netgrade's reference, and students against each other.

Both use :mod:`netgrade.similarity` (winnowed fingerprints of normalized
tokens).  Neither changes a verdict or a score: a near-copy is a notice for the
instructor, who decides.

- :func:`annotate_result` (``netgrade check`` and every graded submission):
  the share of the reference's fingerprints found in the student's program;
  at or above the pack's ``[similarity] reference_threshold`` the program
  gets a notice ("87 % similar to netgrade's reference tcp_qq_server.py").
- :func:`class_pairs` (``netgrade batch``): for each program, the pairs of
  submissions whose own code (with every fingerprint of the seeds' programs
  and of the references removed, as MOSS's base file) is shared at or above
  ``pair_threshold``, with the shared regions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import reffiles
from . import similarity as sim
from .atomicfile import atomic_write
from .pack import Pack
from .i18n import N_, Msg
from .results import Result, add_notice
from .verdicts import ProgramStatus

#: a pair must share at least this many fingerprints of its own code to be listed
MIN_SHARED = 8
#: pairs listed per program in the class report
PAIRS_PER_PROGRAM = 5
#: shared regions shown per pair, and lines per region side
REGIONS_PER_PAIR = 6
REGION_LINES = 40
#: bytes of a program file read for comparison (a larger file is cut there)
MAX_SOURCE = 256 * 1024


def reference_name(pack: Pack, pid: str) -> str:
    """The reference module's file for a program: reference/<the sheet's file name>."""
    return pack.programs[pid].file


def reference_source(pack: Pack, pid: str) -> str | None:
    try:
        return (reffiles.source_folder() / reference_name(pack, pid)).read_text("utf-8")
    except (FileNotFoundError, OSError, RuntimeError):
        return None


def read_program(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return sim.decode(f.read(MAX_SOURCE))
    except OSError:
        return None


def notice_text(score: float, reference: str) -> Msg:
    # the percent sign is part of the parameter: "{percent}% s..." would read as a %-format to gettext tools
    return Msg(N_("{percent} similar to netgrade's reference {reference}"),
               {"percent": f"{round(100 * score)}%", "reference": reference})


def annotate_result(result: Result, root: Path, pack: Pack) -> None:
    """Compare every graded program with our reference; add the notice where it is close."""
    threshold = pack.similarity["reference_threshold"]
    for p in result.programs:
        if p.status == ProgramStatus.MISSING or not p.file or p.id not in pack.programs:
            continue
        ref = reference_source(pack, p.id)
        src = read_program(root / p.file)
        if ref is None or src is None:
            continue
        score = sim.compare(sim.fingerprint(src), sim.fingerprint(ref))
        name = reference_name(pack, p.id)
        flagged = score >= threshold
        p.reference_similarity = {"reference": name, "score": round(score, 3), "threshold": threshold,
                                  "flagged": flagged}
        if flagged:
            text = notice_text(score, name)
            add_notice(p, text)
            add_notice(result, Msg(N_("{program}: {notice} (a notice, not a fail)"), {"program": p.id, "notice": text}))


# ------------------------------------------------------------------ a class

def base_sources(pack: Pack) -> list[str]:
    """The base every student may share: the seeds' programs and our references."""
    from .seedcode import seed_programs
    out = [s["code"] for s in seed_programs()]
    for pid in pack.programs:
        ref = reference_source(pack, pid)
        if ref is not None:
            out.append(ref)
    return out


@dataclass
class Pair:
    program: str
    a: str
    b: str
    score: float         # shared / the smaller program's own fingerprints
    shared: int
    regions: list[dict]  # {"a": [first, last], "b": [first, last], "a_text": ..., "b_text": ...}

    def to_dict(self) -> dict:
        return {"program": self.program, "a": self.a, "b": self.b, "score": round(self.score, 3),
                "shared": self.shared, "regions": self.regions}


def _excerpt(text: str, lines: tuple[int, int]) -> str:
    rows = text.splitlines()
    first, last = lines
    last = min(last, first + REGION_LINES - 1)
    return "\n".join(rows[first - 1:last])


def class_pairs(sources: dict[str, dict[str, str]], pack: Pack, base: set[int] | None = None) -> list[Pair]:
    """``sources``: program -> {submission name: program text}.  The close pairs, closest first per program."""
    threshold = pack.similarity["pair_threshold"]
    if base is None:
        base = sim.base_hashes(base_sources(pack))
    pairs: list[Pair] = []
    for pid, by_name in sources.items():
        fps = {name: sim.fingerprint(text).without(base) for name, text in by_name.items()}
        # an inverted index: only submissions that share a fingerprint are compared
        owners: dict[int, list[str]] = {}
        for name, fp in fps.items():
            for h in fp.hashes:
                owners.setdefault(h, []).append(name)
        shared: dict[tuple[str, str], int] = {}
        for names in owners.values():
            if len(names) > 1:
                names = sorted(names)
                for i, a in enumerate(names):
                    for b in names[i + 1:]:
                        shared[(a, b)] = shared.get((a, b), 0) + 1
        found = []
        for (a, b), n in shared.items():
            smaller = min(fps[a].size, fps[b].size)
            score = n / smaller if smaller else 0.0
            if n >= MIN_SHARED and score >= threshold:
                found.append((score, n, a, b))
        found.sort(key=lambda x: (-x[0], -x[1], x[2], x[3]))
        for rank, (score, n, a, b) in enumerate(found):
            regions = []
            shown = sim.shared_regions(fps[a], fps[b])[:REGIONS_PER_PAIR] if rank < PAIRS_PER_PROGRAM else []
            for r in shown:
                regions.append({"a": list(r.a_lines), "b": list(r.b_lines),
                                "a_text": _excerpt(by_name[a], r.a_lines), "b_text": _excerpt(by_name[b], r.b_lines)})
            regions.sort(key=lambda r: r["a"][0])
            pairs.append(Pair(pid, a, b, score, n, regions))
    return pairs


def gradebook_cells(pairs: list[Pair]) -> dict[str, str]:
    """Submission name -> "bob: tcp-qq-server 95%; ..." (its closest partner per program, and how many more)."""
    best: dict[str, dict[str, list]] = {}
    for p in pairs:  # closest first within each program
        for me, other in ((p.a, p.b), (p.b, p.a)):
            slot = best.setdefault(me, {}).setdefault(p.program, [other, p.score, 0])
            slot[2] += 1
    cells = {}
    for name, progs in best.items():
        parts = []
        for pid, (other, score, n) in progs.items():
            more = f" (+{n - 1} more)" if n > 1 else ""
            parts.append(f"{other}: {pid} {round(100 * score)}%{more}")
        cells[name] = "; ".join(parts)
    return cells


def reference_cell(result: Result) -> str:
    """The gradebook's reference-copy flag: "tcp-qq-server 87%; ..." (empty when none)."""
    return "; ".join(f"{p.id} {round(100 * p.reference_similarity['score'])}%" for p in result.programs
                     if p.reference_similarity.get("flagged"))


# ------------------------------------------------------------------ netgrade batch

SIMILARITY_FILE = "similarity.json"


def _batch_sources(out: Path, entries, program_ids: list[str]) -> dict[str, dict[str, str]]:
    """program -> {submission: text} for the programs each stored result found."""
    import json

    from .submission import SubmissionError, open_submission
    sources: dict[str, dict[str, str]] = {pid: {} for pid in program_ids}
    for e in entries:
        try:
            data = json.loads((out / e.name / "result.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        files = {p["id"]: p["file"] for p in data.get("programs", [])
                 if p.get("status") != ProgramStatus.MISSING and p.get("file") and p["id"] in sources}
        if not files:
            continue
        try:
            sub = open_submission(e.path)
        except SubmissionError:
            continue
        try:
            for pid, rel in files.items():
                text = read_program(sub.root / rel)
                if text is not None:
                    sources[pid][e.name] = text
        finally:
            sub.cleanup()
    return sources


def batch_similarity(out: Path, entries, program_ids: list[str], pack: Pack, enabled: bool) -> None:
    """Write OUT/similarity.json (the close pairs of the class), or remove it when not enabled."""
    import json
    path = Path(out) / SIMILARITY_FILE
    if not enabled:
        path.unlink(missing_ok=True)
        return
    pairs = class_pairs(_batch_sources(Path(out), entries, program_ids), pack)
    data = {"pair_threshold": pack.similarity["pair_threshold"], "pairs": [p.to_dict() for p in pairs]}
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def stored_pairs(out: Path) -> list[dict] | None:
    """The pairs a batch stored, or None when similarity was not run."""
    import json
    try:
        return json.loads((Path(out) / SIMILARITY_FILE).read_text("utf-8"))["pairs"]
    except (OSError, ValueError, KeyError):
        return None
