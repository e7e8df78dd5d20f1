"""The reference programs, exported as a submission, get full marks."""
from __future__ import annotations

from conftest import checks_by_status, grade


def test_exported_references_get_full_marks(exported, tmp_path):
    result, proc = grade(exported, tmp=tmp_path)
    assert result["status"] == "graded", result["message"]
    by = checks_by_status(result, levels=("must", "should", "extra"))
    assert set(by) == {"pass"}, {k: sorted(v) for k, v in by.items() if k != "pass"}
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert result["score"] == result["max_score"] > 0
    assert all(p["status"] == "graded" for p in result["programs"])
