"""The class's files: gradebook.csv, results.jsonl and index.html, from what is stored for each
submission (the near-copy pairs of netgrade.copycheck included).
"""
from __future__ import annotations

import csv
import io
import json
import urllib.parse
from pathlib import Path

from ..atomicfile import atomic_write
from ..results import Result
from ..verdicts import RunStatus
from .model import META, Entry, _read_json
from .pages import render_index
from .store import _status_text


def write_aggregates(out: Path, entries: list[Entry], program_ids: list[str], lang: str) -> None:
    """gradebook.csv, results.jsonl and index.html from what is stored for ``entries``."""
    from ..copycheck import gradebook_cells, reference_cell, stored_pairs
    results: list[Result] = []
    links: dict[str, str] = {}
    pairs = stored_pairs(out)
    similar = gradebook_cells([_pair(p) for p in pairs or []])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "total", "max", *program_ids, "status", "reference_copy", "similar_to"])
    lines = []
    for e in entries:
        folder = out / e.name
        meta = _read_json(folder / META)
        data = _read_json(folder / "result.json")
        if meta is None or data is None:
            w.writerow([e.name, "", "", *([""] * len(program_ids)), "not graded (interrupted?)", "", ""])
            continue
        r = Result.from_dict(data)
        r.submission = e.name
        results.append(r)
        links[e.name] = urllib.parse.quote(e.name) + "/report.html"
        by_id = {p.id: p for p in r.programs}
        status = _status_text(meta)
        if r.status == RunStatus.GRADED:
            cells = [f"{by_id[pid].score:g}" if pid in by_id else "" for pid in program_ids]
            w.writerow([e.name, f"{r.score:g}", f"{r.max_score:g}", *cells, status, reference_cell(r),
                        similar.get(e.name, "")])
        else:
            w.writerow([e.name, "", "", *([""] * len(program_ids)), status, "", ""])
        lines.append(json.dumps({"name": e.name, "status": meta.get("status"), "batch_status": status,
                                 "score": r.score, "max_score": r.max_score, "flaky": meta.get("flaky", []),
                                 "key": meta.get("key"), "lms": meta.get("lms"),
                                 "regrade_failed": meta.get("regrade_failed"), "result": r.to_dict()},
                                ensure_ascii=False))
    atomic_write(out / "gradebook.csv", buf.getvalue())
    atomic_write(out / "results.jsonl", "".join(line + "\n" for line in lines))
    atomic_write(out / "index.html", render_index(results, links, lang, pairs))


def _pair(d: dict):
    from ..copycheck import Pair
    return Pair(d["program"], d["a"], d["b"], d["score"], d["shared"], d.get("regions", []))
