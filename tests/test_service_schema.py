"""schemathesis against the live service's OpenAPI schema: bounded examples, with a student's and the
instructor's token; no 500 and no answer outside the schema."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from servicekit import Service, course, services  # noqa: F401 - fixtures


def _schemathesis() -> list[str]:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(exe).exists():
        pytest.fail("schemathesis is not installed: pip install -e '.[test]'")
    return [exe]


@pytest.mark.timeout(600)
def test_no_server_error_and_no_schema_violation(tmp_path, services):
    data, teacher, tokens = course(tmp_path, None, ["sam"], "--limits", '{"cooldown_s": 0}')
    svc = Service(data, None, workers=0).start()  # submissions stay queued: the API alone is under test
    services.append(svc)
    for who, token in (("instructor", teacher), ("student", tokens["sam"])):
        p = subprocess.run([*_schemathesis(), "run", svc.url + "/openapi.json", "-H", f"Authorization: Bearer {token}",
                            "--max-examples", "5", "--seed", "19", "--request-timeout", "30",
                            "--checks", "not_a_server_error,response_schema_conformance",
                            "--max-time", "90", "--phases", "examples,fuzzing"],
                           capture_output=True, text=True, timeout=400, cwd=tmp_path)
        assert p.returncode == 0, f"schemathesis ({who}):\n{p.stdout[-6000:]}\n{p.stderr[-2000:]}"
        assert " passed" in p.stdout and "failed" not in p.stdout.split("Test cases:")[-1], p.stdout[-3000:]
    svc.stop()
    assert '"status": 500' not in svc.all_logs()
