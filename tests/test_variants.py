"""Correct programs written differently from ours get full marks.

``tests/variants/<program-id>/<name>.py`` is a program that meets every must
and should line in its own way: another bind address (``''``, ``127.0.0.1``,
the host's name, a declared lab address), another style, or the seed notes'
own code where it is right.  The test asserts that no must or should check
fails.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import checks_by_status, grade, submission_with
from test_mutants import _pack_file

VARIANTS = Path(__file__).resolve().parent / "variants"


@pytest.mark.parametrize("variant", sorted(VARIANTS.glob("*/*.py")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_variant_gets_full_marks(variant: Path, tmp_path: Path):
    program_id = variant.parent.name
    sub = submission_with(tmp_path, {_pack_file(program_id): variant})
    result, proc = grade(sub, "--program", program_id, "--jobs", "2", tmp=tmp_path)
    by = checks_by_status(result)
    assert set(by) == {"pass"}, f"{variant.name}: {({k: sorted(v) for k, v in by.items() if k != 'pass'})}\n{proc.stdout[-3000:]}"
    assert proc.returncode == 0
