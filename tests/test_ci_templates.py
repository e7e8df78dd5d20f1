"""The CI templates of examples/ci/ run, as written, as a non-root user, and the job's status is netgrade's.

Each YAML file is parsed and its shell steps are run in order, the way the CI
service runs them, in a checkout of a sample submission, as the non-root
user of tests/nonroot.py (CI jobs do not run as root; on GitHub the "Grade"
step's `sudo -n true` then fails and netgrade runs as that user):

- GitHub Actions: every `run:` step of the job, with the job's `env`, in
  `bash --noprofile --norc -eo pipefail`, `GITHUB_STEP_SUMMARY` and
  `GITHUB_ACTIONS` set; the first failing step fails the job and only the
  `if: always()` steps run after it.  `uses:` steps are the service's own
  (checkout: the submission is already the working folder; setup-python:
  the test's Python is there; upload-artifact: the test checks that every
  path it names was written).
- GitLab: `before_script` then `script`, in one `sh -e` session with the
  job's `variables`; `artifacts:reports:junit` must name a JUnit file that was
  written and parses.

One step is not run as written: the one that installs netgrade (`pip
install "$NETGRADE_PACKAGE"`) would download netgrade from the course's
address, so it is replaced by the netgrade already installed for that user
(a `netgrade` command on its PATH); the test asserts that exactly one step
is replaced.  Everything else (the tools step, `netgrade doctor`,
`netgrade check . --json result.json --junit junit.xml --markdown summary.md`)
runs unmodified.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

import nonroot  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ci"
MUTANT = Path(__file__).resolve().parent / "mutants" / "udp-send"


def _installs_netgrade(command: str) -> bool:
    return "pip install" in command and "$NETGRADE_PACKAGE" in command


def _submissions(name: str) -> dict[str, Path]:
    """A correct sample (our references, exported) and a broken one (a udp-send mutant alone)."""
    base = nonroot.shared_folder(name)
    proc = nonroot.run_as_user(["netgrade", "reference", "export", f"{base}/good"])
    assert proc.returncode == 0, proc.stderr
    bad = Path(base, "bad")
    mutant = next(p for p in sorted(MUTANT.glob("*.py")) if not p.name.startswith("_"))
    bad.mkdir()
    shutil.copyfile(mutant, bad / "udp_send.py")
    subprocess.run(["chown", "-R", f"{nonroot.USER}:{nonroot.USER}", str(bad)], check=True)
    return {"good": Path(base, "good"), "bad": bad}


def _expected_status(result: dict) -> int:
    """netgrade check's exit status from its result: 0 when every must and should check passed."""
    ok = result["status"] == "graded" and all(
        c["status"] == "pass" for p in result["programs"] for c in p["checks"] if c["level"] in ("must", "should"))
    ok = ok and all(p.get("status") != "missing" for p in result["programs"])
    return 0 if ok else 1


def _check_outputs(folder: Path) -> dict:
    result = json.loads((folder / "result.json").read_text("utf-8"))
    assert result["schema"] == "netgrade.result/1"
    suites = ET.parse(folder / "junit.xml").getroot()
    # one testsuite per program, a testcase per check (and one more, failed, for a missing program's file)
    by_suite = {s.get("name"): len(s.findall("testcase")) for s in suites.findall("testsuite")}
    assert by_suite == {p["id"]: len(p["checks"]) + (p["status"] == "missing") for p in result["programs"]}
    assert (folder / "summary.md").read_text("utf-8").strip()
    return result


# ------------------------------------------------------------------ GitHub Actions
def _github_job(folder: Path, summary: Path) -> tuple[bool, list[tuple[str, subprocess.CompletedProcess]], dict]:
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text("utf-8"))
    assert set(workflow["jobs"]) == {"grade"}
    job = workflow["jobs"]["grade"]
    env = {k: str(v) for k, v in (job.get("env") or {}).items()}
    env.update(GITHUB_ACTIONS="true", CI="true", GITHUB_WORKSPACE=str(folder), GITHUB_STEP_SUMMARY=str(summary))
    failed, ran, replaced, uploads = False, [], 0, []
    for step in job["steps"]:
        always = str(step.get("if", "")).strip() == "always()"
        if failed and not always:
            continue
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                uploads.append(step)
            continue
        command = step["run"]
        if _installs_netgrade(command):
            replaced += 1  # netgrade is installed for this user already; this would download it
            continue
        proc = nonroot.run_as_user(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
                                   cwd=str(folder), env={**env, **{k: str(v) for k, v in (step.get("env") or {}).items()}})
        ran.append((step.get("name", command.splitlines()[0]), proc))
        failed = failed or proc.returncode != 0
    assert replaced == 1, "exactly one step installs netgrade"
    assert uploads, "the result and JUnit report are kept as artifacts"
    for up in uploads:
        for path in up["with"]["path"].split():
            assert (folder / path).is_file(), f"the artifact {path} was not written"
    return not failed, ran, workflow


def test_github_actions_template(tmp_path):
    subs = _submissions("ci-github")
    for kind, folder in subs.items():
        summary = folder.parent / f"step-summary-{kind}.md"
        summary.touch()
        subprocess.run(["chown", f"{nonroot.USER}:{nonroot.USER}", str(summary)], check=True)
        passed, ran, workflow = _github_job(folder, summary)
        names = [n for n, _ in ran]
        assert "Grade" in names, (kind, names, [(n, p.stderr[-500:]) for n, p in ran])
        grade = dict(ran)["Grade"]
        result = _check_outputs(folder)
        # the job's status is netgrade's, and netgrade's is the result's
        assert grade.returncode == _expected_status(result), (kind, grade.returncode, grade.stdout[-2000:])
        assert passed == (grade.returncode == 0)
        doctor = dict(ran)["What works on this runner"]
        assert doctor.returncode == 0 and "netgrade doctor: the runners on this machine" in doctor.stdout
        # the Markdown summary went to the job's summary page too
        assert (folder / "summary.md").read_text("utf-8").strip() in summary.read_text("utf-8")
        if kind == "bad":
            assert not passed and grade.returncode == 1
            assert any(p["status"] == "missing" for p in result["programs"])
        triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 (PyYAML) reads the key `on` as True
        assert "push" in triggers


# ------------------------------------------------------------------ GitLab
def test_gitlab_template(tmp_path):
    config = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text("utf-8"))
    assert set(config) == {"netgrade"}
    job = config["netgrade"]
    assert job["artifacts"]["reports"]["junit"] == "junit.xml"
    assert job["artifacts"]["when"] == "always"
    commands = list(job["before_script"]) + list(job["script"])
    kept = [c for c in commands if not _installs_netgrade(c)]
    assert len(commands) - len(kept) == 1, "exactly one command installs netgrade"
    env = {k: str(v) for k, v in job["variables"].items()}
    env.update(CI="true", GITLAB_CI="true")
    for kind, folder in _submissions("ci-gitlab").items():
        # GitLab runs the commands in one shell session and stops at the first that fails
        proc = nonroot.run_as_user(["sh", "-ec", "\n".join(kept)], cwd=str(folder), env=env)
        result = _check_outputs(folder)
        assert proc.returncode == _expected_status(result), (kind, proc.returncode, proc.stdout[-2000:], proc.stderr[-1000:])
        for path in job["artifacts"]["paths"]:
            assert (folder / path).is_file(), path
        if kind == "bad":
            assert proc.returncode == 1
        assert "netgrade doctor: the runners on this machine" in proc.stdout
