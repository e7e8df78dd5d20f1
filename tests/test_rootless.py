"""The full local sandbox for a user who is not root (a user namespace of netgrade's own).

As the non-root user ``ngtest`` (see ``nonroot.py``): the exported references
get full marks with the namespace sandbox (port 69, the confined view,
tmpfs work folders), the result says how it was graded, every mutant fails
exactly the lines it declares, and the sandbox's containment tests pass
inside such a user namespace.  Where the user has subordinate ids and
newuidmap (the case here once ``uidmap`` is installed), each run gets a uid of
its own from them, never reused; without them netgrade grades with the
user's uid alone and says so.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap

import pytest

import nonroot
from conftest import mutant_rounds, round_mismatches, round_submission
from netgrade.sandbox import userns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making a non-root user and running as it needs root")


def _user_has_a_range() -> bool:
    """ngtest's namespace can map its subordinate ids (what `netgrade check` does for it)."""
    return nonroot.run_as_user([*userns.UNSHARE_RANGED, "true"]).returncode == 0


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


@pytest.mark.parametrize("mapping", ["range", "single-uid"])
def test_containment_inside_the_users_namespace(user_ns, mapping):
    """The local runner's containment tests (fixed ports in parallel, double fork and setsid, output
    flood, no route off loopback, no signal or write outside, fork bomb and memory hog, lab address,
    catch-all, remote shell) and the confined view's (links the grader would follow, state kept or
    left behind, no grader code or classmate visible, the disk limit, the seccomp filter, a grader
    killed outright), run by the non-root user inside its own user namespace: one that maps its
    subordinate range (runs get uids of their own) and one that maps its uid alone."""
    tree = user_ns["tree"]
    if mapping == "range" and not _user_has_a_range():
        pytest.skip("ngtest has no subordinate ids or this machine no newuidmap (apt-get install uidmap)")
    unshare = userns.UNSHARE_RANGED if mapping == "range" else userns.UNSHARE
    r = nonroot.run_as_user([*unshare, "env", f"{userns.MARK}=1", user_ns["python"], "-m", "pytest",
                             "tests/test_sandbox.py", "tests/test_confinement.py", "-k", "local or killed_outright",
                             "-p", "no:cacheprovider", "-p", "no:randomly", "-n", "0", "-q",
                             "-o", "addopts=", "--rootdir", tree], cwd=tree, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout, r.stdout[-2000:]
    assert "skipped" not in r.stdout.splitlines()[-1], r.stdout[-2000:]


@pytest.mark.parametrize("index", range(len(mutant_rounds())), ids=lambda i: f"round{i}")
def test_mutants_fail_their_lines_as_a_non_root_user(user_ns, index, tmp_path):
    """Every mutant fails exactly its declared lines when a non-root user grades it (the root runs of
    tests/test_mutants.py prove the same declarations), several programs' mutants in one submission."""
    mutants = mutant_rounds()[index]
    d = nonroot.shared_folder(f"rootless-round{index}")
    sub, args, expected = round_submission(d, mutants)
    subprocess.run(["chown", "-R", f"{nonroot.USER}:{nonroot.USER}", str(d)], check=True)
    r = nonroot.run_as_user(["netgrade", "check", str(sub), "--json", str(d / "r.json"), *args],
                            cwd=str(d), timeout=900)
    assert (d / "r.json").exists(), r.stdout[-2000:] + r.stderr[-2000:]
    result = json.loads((d / "r.json").read_text("utf-8"))
    assert result["status"] == "graded", result.get("message")
    assert any("user namespace" in n for n in result["notices"]), result["notices"]
    assert round_mismatches(result, mutants, expected) == []


@pytest.fixture(scope="module")
def ranged(user_ns):
    if shutil.which("newuidmap") is None or not _user_has_a_range():
        pytest.skip("ngtest has no subordinate ids or this machine no newuidmap (apt-get install uidmap)")
    return user_ns


_TAKE_UIDS = textwrap.dedent("""
    import json, multiprocessing, sys
    from netgrade.sandbox import uids

    def take(n):
        return [uids.next_uid() for _ in range(n)]

    if __name__ == "__main__":
        n = int(sys.argv[1])
        with multiprocessing.get_context("spawn").Pool(3) as pool:
            taken = [u for part in pool.map(take, [n, n, n]) for u in part]
        print(json.dumps({"taken": taken, "range": uids.uid_range(), "state": uids.state_file()}))
""")


def test_run_uids_come_from_the_subordinate_range_and_are_never_reused(ranged):
    """Inside ngtest's ranged namespace: uids handed to runs by concurrent grading processes, and by a
    later one, are all different, all in the mapped range (not 0, the user), and counted in its cache."""
    d = nonroot.shared_folder("rootless-uids")
    script = d / "take.py"
    script.write_text(_TAKE_UIDS, "utf-8")
    env = {"NETGRADE_CACHE": str(d / "cache")}
    seen: list[int] = []
    for _ in range(2):  # two grading sessions, one after the other (the counter outlives each)
        r = nonroot.run_as_user([*userns.UNSHARE_RANGED, ranged["python"], str(script), "300"], env=env,
                                cwd=str(d), timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        out = json.loads(r.stdout)
        first, last = out["range"]
        assert 1 <= first < last, out["range"]  # never 0 (the user itself)
        assert out["state"] == str(d / "cache" / "next-uid")
        assert all(first <= u <= last for u in out["taken"]), out["taken"]
        assert len(out["taken"]) == 900
        seen += out["taken"]
    assert len(set(seen)) == len(seen), sorted(u for u in set(seen) if seen.count(u) > 1)[:10]
    import pwd
    assert (d / "cache" / "next-uid").stat().st_uid == pwd.getpwnam(nonroot.USER).pw_uid


def _path_without_newuidmap(d) -> str:
    """A PATH folder with every command of the system's but newuidmap and newgidmap (as without `uidmap`)."""
    bindir = d / "bin-no-uidmap"
    bindir.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            target = bindir / name
            if name in ("newuidmap", "newgidmap") or target.exists() or target.is_symlink():
                continue
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                target.symlink_to(path)
    return f"{nonroot.setup()['bin']}:{bindir}"


def test_without_a_subordinate_range_runs_keep_the_users_uid_and_say_so(user_ns):
    """No newuidmap on PATH: `netgrade check` grades in a namespace of the user's uid alone (the mutant
    that uses a port of its own then fails more than its line: no redirect by uid), the notice names the
    missing piece and its fix, and so does `netgrade doctor` (with a range the same mutant fails its line
    alone: the mutant rounds above)."""
    d = nonroot.shared_folder("rootless-single-uid")
    env = {"PATH": _path_without_newuidmap(d)}
    r = nonroot.run_as_user(["sh", "-c", "command -v newuidmap || echo none"], env=env)
    assert r.stdout.split()[-1] == "none", r.stdout
    mutant = next(m for rnd in mutant_rounds() for m in rnd
                  if (m.parent.name, m.name) == ("tcp-thanks-client", "own_port.py"))
    sub, args, expected = round_submission(d, [mutant])
    subprocess.run(["chown", "-R", f"{nonroot.USER}:{nonroot.USER}", str(d)], check=True)
    grade = nonroot.run_as_user(["netgrade", "check", str(sub), "--json", str(d / "r.json"), *args],
                                cwd=str(d), env=env, timeout=600)
    result = json.loads((d / "r.json").read_text("utf-8"))
    assert result["status"] == "graded", result.get("message") or grade.stderr[-2000:]
    single = [n for n in result["notices"] if "no uid of their own" in n]
    assert single and "newuidmap" in single[0] and "apt-get install uidmap" in single[0], result["notices"]
    failing = {f"{p['id']}/{c['id']}" for p in result["programs"] for c in p["checks"] if c["status"] == "fail"}
    own = expected["tcp-thanks-client"]
    assert own < failing, (own, failing)  # its line, and more: its traffic reaches no peer without a redirect
    doctor = nonroot.run_as_user(["netgrade", "doctor"], env=env, timeout=180).stdout
    line = next(l for l in doctor.splitlines() if l.split()[1:3] == ["subordinate", "ids"])
    assert line.split()[0] == "MISSING" and "no newuidmap" in line, doctor
    assert "sudo apt-get install uidmap" in doctor, doctor
    local = next(l for l in doctor.splitlines() if l.startswith("  local "))
    assert "no uid of their own" in local, doctor
