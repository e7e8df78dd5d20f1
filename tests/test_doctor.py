"""`netgrade doctor` is right on this machine: as root, as a non-root user, and where user namespaces are refused.

No mocks: the doctor's answers are compared with what the machine really
does, found here another way (util-linux's `unshare -r -n true` and `unshare
-n true`, the Docker engine through the test's own client, `/proc/sys`), and
with what `netgrade check` really does for the same user (its fallback
notice must give the doctor's reason, word for word).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import netgrade

import nonroot

HERE = Path(__file__).resolve().parent


def _runner_lines(stdout: str) -> dict[str, tuple[str, str]]:
    """runner name -> (works|NO, reason), from the doctor's first table."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^  (local \(host fallback\)|local|docker)\s+(works|NO)\s+(.*)$", line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def _finding(stdout: str, name: str) -> tuple[str, str]:
    m = re.search(rf"^  (ok|MISSING)\s+{re.escape(name)}\s+(.*)$", stdout, re.M)
    assert m, f"no line for {name}:\n{stdout}"
    return m.group(1), m.group(2)


def _fixes_after(stdout: str, name: str) -> str:
    """The fix lines printed under finding ``name``."""
    lines = stdout.splitlines()
    i = next(i for i, l in enumerate(lines) if re.match(rf"^  (ok|MISSING)\s+{re.escape(name)}\s", l))
    fixes = []
    for l in lines[i + 1:]:
        if re.match(r"^\s+fix: ", l):
            fixes.append(l.strip())
        else:
            break
    return "\n".join(fixes)


def _docker_works_for_root() -> bool:
    from dockerenv import _state
    client, _tag, _reason = _state()
    return client is not None


def test_doctor_as_root_names_the_runners_that_work():
    if os.geteuid() != 0:
        pytest.skip("this test is the root side; test_doctor_as_non_root_user is the other")
    proc = netgrade("doctor", timeout=120)
    runners = _runner_lines(proc.stdout)
    netns = subprocess.run(["unshare", "-n", "true"]).returncode == 0
    assert runners["local"][0] == ("works" if netns else "NO"), proc.stdout
    docker = _docker_works_for_root()
    assert runners["docker"][0] == ("works" if docker else "NO"), proc.stdout
    assert proc.returncode == (0 if netns or docker else 1), proc.stdout + proc.stderr
    assert _finding(proc.stdout, "root")[0] == "ok"
    if docker:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        assert f"answers at {where}" in _finding(proc.stdout, "docker engine")[1]
        from netgrade.docker.image import grader_tag
        assert grader_tag() in _finding(proc.stdout, "grading image")[1]


def test_doctor_as_non_root_user(tmp_path):
    """The user `ngtest`: what is missing is named, with its fix; `netgrade check` gives the same reason."""
    proc = nonroot.run_as_user(["netgrade", "doctor"], timeout=180)
    out = proc.stdout
    runners = _runner_lines(out)
    assert set(runners) == {"local", "docker", "local (host fallback)"}, out + proc.stderr
    # user namespaces: the doctor says what util-linux finds for the same user
    real = nonroot.run_as_user(["unshare", "-r", "-n", "true"]).returncode == 0
    assert _finding(out, "user namespaces")[0] == ("ok" if real else "MISSING"), out
    state, detail = _finding(out, "root")  # not root is fine where the sandbox runs in a user namespace
    assert state == ("ok" if real else "MISSING") and "not root" in detail, out
    if real:
        assert runners["local"][0] == "works" and "user namespace" in runners["local"][1], out
    # a uid of its own per run: what util-linux does with the user's subordinate ids
    ranged = nonroot.run_as_user(["unshare", "--user", "--map-root-user", "--map-auto", "true"]).returncode == 0
    state, detail = _finding(out, "subordinate ids (a uid of its own per run)")
    if real:
        assert state == ("ok" if ranged else "MISSING"), out
        assert ("uid of its own" if ranged else "no uid of their own") in runners["local"][1], out
    if shutil.which("newuidmap") is None:
        assert "sudo apt-get install uidmap" in _fixes_after(out, "subordinate ids (a uid of its own per run)")
    with open("/proc/sys/user/max_user_namespaces") as f:
        assert _finding(out, "user.max_user_namespaces")[1].startswith(f.read().strip())
    # docker: a user the socket refuses is told how to fix it; one it lets in (the docker group) grades
    # inside a container
    reaches = nonroot.run_as_user(["python3", "-c", "import socket; s = socket.socket(socket.AF_UNIX);"
                                   " s.connect('/var/run/docker.sock')"]).returncode == 0
    if os.path.exists("/var/run/docker.sock") and "DOCKER_HOST" not in os.environ and not reaches:
        assert runners["docker"][0] == "NO", out
        assert "sudo usermod -aG docker ngtest" in _fixes_after(out, "docker engine"), out
    elif reaches and _docker_works_for_root():
        assert runners["docker"][0] == "works" and "inside a container" in runners["docker"][1], out
    # the local sandbox: netgrade check, graded for real as this user, says the doctor's reason
    sub = nonroot.shared_folder("sub-doctor")
    grade = nonroot.run_as_user(["sh", "-c", f"netgrade reference export {sub}/refs >/dev/null && "
                                 f"netgrade check {sub}/refs --program udp-send --json {sub}/r.json"], timeout=300)
    result = json.loads(Path(sub, "r.json").read_text("utf-8"))
    notices = [n for n in result["notices"] if n.startswith("network namespaces unavailable")]
    if runners["local"][0] == "works":
        assert not notices, notices
        assert proc.returncode == 0
    else:
        assert notices and f"({runners['local'][1]})" in notices[0], (notices, runners["local"], grade.stderr)
        assert proc.returncode == 1, out  # neither full sandbox works for this user
        assert "no full sandbox works here" in out


def test_doctor_names_the_setting_that_refuses_user_namespaces():
    """A non-root user for whom user.max_user_namespaces is 0 (set for real, in a user namespace of its own)."""
    if nonroot.run_as_user(["unshare", "-r", "-n", "true"]).returncode != 0:
        pytest.skip("user namespaces are refused to non-root users here already")
    script = HERE / "tools" / "no-user-namespaces.py"
    s = nonroot.setup()
    copy = Path(s["base"], script.name)
    copy.write_bytes(script.read_bytes())
    copy.chmod(0o644)
    proc = nonroot.run_as_user([s["python"], str(copy), "netgrade", "doctor"], timeout=180)
    out = proc.stdout
    state, detail = _finding(out, "user namespaces")
    assert state == "MISSING" and "user.max_user_namespaces = 0" in detail, out + proc.stderr
    assert "sudo sysctl -w user.max_user_namespaces=15000" in _fixes_after(out, "user namespaces")
    assert _finding(out, "user.max_user_namespaces") == ("MISSING", "0 (forbids user namespaces)")
    runners = _runner_lines(out)
    local = runners["local"]
    assert "user.max_user_namespaces = 0" in local[1]
    # exit 0 only when some full sandbox still works: the Docker runner's container mode, for a docker-group user
    assert proc.returncode == (0 if runners["docker"][0] == "works" else 1), out
    # netgrade check, graded for real in the same conditions, names the same setting in its note
    sub = nonroot.shared_folder("sub-no-userns")
    nonroot.run_as_user(["netgrade", "reference", "export", f"{sub}/refs"])
    nonroot.run_as_user([s["python"], str(copy), "netgrade", "check", f"{sub}/refs", "--program", "udp-send",
                         "--json", f"{sub}/r.json"], timeout=300)
    notices = json.loads(Path(sub, "r.json").read_text("utf-8"))["notices"]
    assert f"network namespaces unavailable ({local[1]})" in " ".join(notices), (notices, local)


def test_doctor_names_a_remote_engine_that_does_not_answer():
    """DOCKER_HOST=tcp://… on a loopback port where nothing listens: the docker runner is out, named, with why."""
    if os.geteuid() != 0:
        pytest.skip("the root side: the local sandbox still works there")
    with socket.socket() as s:  # a port nothing listens on: bound, never listened, closed
        s.bind(("127.0.0.1", 0))
        where = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    proc = netgrade("doctor", env={"DOCKER_HOST": where}, timeout=120)
    runners = _runner_lines(proc.stdout)
    state, reason = runners["docker"]
    assert state == "NO" and f"no engine answers at {where}" in reason, proc.stdout
    assert _finding(proc.stdout, "docker engine")[0] == "MISSING"
    assert f"start the engine at {where}, or unset DOCKER_HOST" in _fixes_after(proc.stdout, "docker engine")
    netns = subprocess.run(["unshare", "-n", "true"]).returncode == 0
    assert proc.returncode == (0 if netns else 1)  # the local sandbox alone is enough


def _forward_to_docker_socket(listener: socket.socket, stop) -> None:
    """Relay every connection on ``listener`` (loopback) to the engine's Unix socket."""
    import selectors
    import threading

    def pipe(a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while not stop.is_set():
                for key, _ in sel.select(0.5):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    listener.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except (socket.timeout, OSError):
            continue
        up = socket.socket(socket.AF_UNIX)
        up.connect("/var/run/docker.sock")
        threading.Thread(target=pipe, args=(conn, up), daemon=True).start()


def test_doctor_accepts_an_engine_on_this_machine_over_tcp():
    """DOCKER_HOST=tcp://127.0.0.1:PORT relayed to this machine's engine: named, and found to be here."""
    import threading
    if os.geteuid() != 0 or not _docker_works_for_root() or "DOCKER_HOST" in os.environ:
        pytest.skip("needs root and this machine's engine on /var/run/docker.sock")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    where = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    stop = threading.Event()
    relay = threading.Thread(target=_forward_to_docker_socket, args=(listener, stop), daemon=True)
    relay.start()
    try:
        proc = netgrade("doctor", env={"DOCKER_HOST": where}, timeout=120)
    finally:
        stop.set()
        relay.join(5)
        listener.close()
    assert f"answers at {where}" in _finding(proc.stdout, "docker engine")[1], proc.stdout
    assert _runner_lines(proc.stdout)["docker"] == ("works", f"two containers per worker, engine at {where}"), \
        proc.stdout


def test_doctor_finds_the_engine_containers_out_of_reach():
    """Run in a pid namespace of its own (as netgrade in a container handed the host's socket would
    be), the doctor starts a container, does not find its process, and says the direct mode cannot work
    there (the Docker runner then grades inside a container)."""
    if os.geteuid() != 0 or not _docker_works_for_root():
        pytest.skip("needs root and a Docker engine")
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "netgrade", "doctor"],
                          capture_output=True, text=True, timeout=120, cwd=str(HERE.parent))
    state, detail = _finding(proc.stdout, "engine on this machine")
    assert "not in this machine's /proc" in detail and "the direct mode" in detail, proc.stdout + proc.stderr
    # the direct mode is out, and said so; the runner still works by grading inside a container
    docker = _runner_lines(proc.stdout)["docker"]
    assert docker[0] == "works" and "the direct mode is out" in docker[1], proc.stdout
    # the same doctor outside that namespace finds the engine's containers
    out = netgrade("doctor", timeout=120).stdout
    assert _finding(out, "engine on this machine")[0] == "ok", out


def test_doctor_names_the_usermod_fix_for_a_user_without_subordinate_ids(tmp_path, monkeypatch):
    """/etc/subuid and /etc/subgid that give this user nothing (another user's range only): the missing
    piece is named with the usermod line that gives one; a user they list has nothing missing."""
    from netgrade.sandbox import userns
    if shutil.which("newuidmap") is None or shutil.which("newgidmap") is None:
        pytest.skip("newuidmap/newgidmap are missing: that is what the doctor names first here")
    import pwd
    me = pwd.getpwuid(os.geteuid()).pw_name
    for name in ("subuid", "subgid"):
        (tmp_path / name).write_text("someone-else:100000:65536\n")
    monkeypatch.setattr(userns, "SUBUID", str(tmp_path / "subuid"))
    monkeypatch.setattr(userns, "SUBGID", str(tmp_path / "subgid"))
    monkeypatch.delenv(userns.RANGE_SWITCH, raising=False)
    what, fix = userns.range_missing()
    assert me in what and "no subordinate ids" in what, what
    assert fix.startswith("sudo usermod --add-subuids ") and "--add-subgids" in fix and fix.split()[6] == me, fix
    (tmp_path / "subuid").write_text(f"{me}:200000:65536\n")
    assert "subgid" in userns.range_missing()[0]  # one file is not enough
    (tmp_path / "subgid").write_text(f"{os.geteuid()}:200000:65536\n")  # by uid counts too
    assert userns.range_missing() is None
