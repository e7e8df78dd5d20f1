"""The full local sandbox for a user who is not root (a user namespace of netgrade's own).

As the non-root user ``ngtest`` (see ``nonroot.py``): the exported references
get full marks with the namespace sandbox (port 69, the confined view,
tmpfs work folders), the result says how it was graded, and the sandbox's
containment tests pass inside such a user namespace.
"""
from __future__ import annotations

import json
import os

import pytest

import nonroot
from netgrade.sandbox import userns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making a non-root user and running as it needs root")


def _user_namespaces_work() -> bool:
    return nonroot.run_as_user(["unshare", "--user", "--map-root-user", "--net", "--mount", "true"]).returncode == 0


@pytest.fixture(scope="module")
def user_ns():
    if not _user_namespaces_work():
        pytest.skip("this machine gives a non-root user no user namespace (see `netgrade doctor`)")
    return nonroot.setup()


def test_references_get_full_marks_as_a_non_root_user(user_ns):
    d = nonroot.shared_folder("rootless-sample")
    r = nonroot.run_as_user(["netgrade reference export sample >/dev/null && netgrade check sample --json r.json"],
                            cwd=str(d), shell=True, timeout=900)
    result = json.loads((d / "r.json").read_text("utf-8"))
    bad = {f"{p['id']}/{c['id']}": c["message"][:200] for p in result["programs"] for c in p["checks"]
           if c["status"] != "pass"}
    assert not bad, bad
    assert result["score"] == result["max_score"], r.stdout[-2000:]
    assert r.returncode == 0, r.stderr[-2000:]
    assert any("user namespace" in n for n in result["notices"]), result["notices"]
    assert not any("unavailable" in n for n in result["notices"]), result["notices"]


def test_containment_inside_the_users_namespace(user_ns):
    """The local runner's containment tests (fixed ports in parallel, double fork and setsid, output
    flood, no route off loopback, no signal or write outside, fork bomb and memory hog, lab address,
    catch-all, remote shell) and the confined view's (links the grader would follow, state kept or
    left behind, no grader code or classmate visible, the disk limit, the seccomp filter, a grader
    killed outright), run by the non-root user inside its own user namespace."""
    tree = user_ns["tree"]
    r = nonroot.run_as_user([*userns.UNSHARE, "env", f"{userns.MARK}=1", user_ns["python"], "-m", "pytest",
                             "tests/test_sandbox.py", "tests/test_confinement.py", "-k", "local or killed_outright",
                             "-p", "no:cacheprovider", "-p", "no:randomly", "-n", "0", "-q",
                             "-o", "addopts=", "--rootdir", tree], cwd=tree, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout, r.stdout[-2000:]
    assert "skipped" not in r.stdout.splitlines()[-1], r.stdout[-2000:]
