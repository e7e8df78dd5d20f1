"""What is up to date: a submission's cache key (its content digest, the merged pack, the netgrade
version, the programs selected) and the stored record that spares grading it again.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import __version__
from ..verdicts import RunStatus
from .model import META, Entry, _read_json


def pack_hash(pack_dict: dict) -> str:
    data = json.dumps(pack_dict, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def submission_digest(path: str) -> str:
    from ..submission import open_submission
    sub = open_submission(path)
    try:
        return sub.digest
    finally:
        sub.cleanup()


def cache_key(digest: str, pack_digest: str, programs: list[str]) -> dict:
    return {"digest": digest, "pack": pack_digest, "version": __version__, "programs": sorted(programs)}


def cached_meta(out: Path, entry: Entry, key: dict) -> dict | None:
    """The stored record when the submission need not be graded again."""
    folder = out / entry.name
    meta = _read_json(folder / META)
    if meta is None or meta.get("status") != RunStatus.GRADED or not (folder / "result.json").is_file():
        return None
    return meta if meta.get("key") == key else None
