"""What a program under test can see, write and call: hostile programs, every runner.

Each test is one hole a hostile tester found (issue 14) or one route to
borrow the grader's own code (issue 15), tried by a real program in a real
sandbox, on the local runner and on the Docker runner (skipped, saying why,
where no engine answers).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from netgrade.evidence import Evidence
from netgrade.savedfiles import Baseline, read_capped, scan
from conftest import ROOT
from test_sandbox import PY, program

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the confined view needs root")


def _json_line(run, marker: str = "RESULT ") -> dict:
    for line in run.out.splitlines():
        if line.startswith(marker):
            return json.loads(line[len(marker):])
    raise AssertionError(f"no {marker!r} line: {run.out!r} {run.err!r}")


@pytest.fixture
def root_secret(tmp_path_factory):
    """A folder only the grader may read holding a secret file (the target of a hostile link): root's,
    or, for a grader in its own user namespace (not root), one of the grader's own."""
    home = "/root" if os.access("/root", os.W_OK) else str(tmp_path_factory.mktemp("grader-only"))
    d = os.path.join(home, f"netgrade-secret-{uuid.uuid4().hex[:8]}")
    os.makedirs(d, mode=0o700)
    with open(os.path.join(d, "token.txt"), "w") as f:
        f.write("TOP-SECRET-" + uuid.uuid4().hex)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------ hole 1: links the grader would follow

def test_grader_never_follows_a_link_the_program_made(runner, tmp_path, root_secret):
    """A program in a subfolder swaps a parent folder for a link to a root-only folder once
    the grader has taken its baseline; nothing of that folder is scanned or read."""
    src = program(tmp_path, f"""
        import os, sys
        print("ready", flush=True)
        sys.stdin.readline()                    # the grader has its baseline now
        os.chdir("/")
        work = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        os.rename(os.path.join(work, "lab"), os.path.join(work, "lab-old"))
        os.symlink({root_secret!r}, os.path.join(work, "lab"))
        os.symlink({root_secret!r} + "/token.txt", os.path.join(work, "lab-old", "sub", "client_x.txt"))
        print("swapped", flush=True)
        import time; time.sleep(30)
    """, name="lab/sub/prog.py")
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src, cwd="lab/sub")
        assert run.wait_output("ready", 15), run.crash_summary()
        baseline = Baseline(run.work)
        run.writeline("go")
        assert run.wait_output("swapped", 15), run.crash_summary()
        changed = baseline.changed()
        found = baseline.find(want=b"x")
        seen = json.dumps({k: str(v) for k, v in changed.items()}) + repr(found)
        assert "token.txt" not in seen and "TOP-SECRET" not in seen, seen
        data, _, why = read_capped(run.work, "client_x.txt", 1000)
        assert data is None, data
        whole = run.work.at(".")
        everything = scan(whole, depth=3)
        assert not any("token" in name for name in everything), everything
        data, _, why = read_capped(whole, "lab/token.txt", 1000)
        assert data is None and "symbolic link" in why, why
    finally:
        box.close()


# ------------------------------------------------------------------ hole 5: state kept or left behind

STATE_PROGRAM = """
    import ctypes, json, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    tag = sys.argv[1]
    out = {}
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/run"):
        try:
            out[d] = sorted(os.listdir(d))
            with open(os.path.join(d, "left-" + tag), "w") as f:
                f.write(tag)
            out[d + " write"] = True
        except OSError as exc:
            out[d + " write"] = exc.errno
    key = 0x6E670000 + int(tag[-4:], 16) % 4096
    out["shm"] = libc.shmget(key, 4096, 0o1666)          # IPC_CREAT | 0666
    out["msg"] = libc.msgget(key, 0o1666)
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    out["mq"] = rt.mq_open(("/netgrade-" + tag).encode(), os.O_CREAT | os.O_RDWR, 0o666, None)
    out["mqueue"] = sorted(os.listdir("/dev/mqueue"))
    out["add_key"] = libc.syscall(248, b"user", ("netgrade-" + tag).encode(), b"secret", 6, -4)  # user keyring
    out["add_key errno"] = ctypes.get_errno()
    print("RESULT " + json.dumps(out), flush=True)
"""


def _host_ipc() -> str:
    return subprocess.run(["ipcs"], capture_output=True, text=True).stdout


def test_nothing_is_shared_between_runs_or_left_on_the_host(runner, tmp_path):
    tag1, tag2 = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    src = program(tmp_path, STATE_PROGRAM)
    before = _host_ipc()
    results = []
    for tag in (tag1, tag2):
        box = runner.open_sandbox(Evidence())
        try:
            run = box.start([PY, "prog.py", tag], label="p", files_from=src)
            assert run.wait_exit(20) == 0, run.crash_summary()
            results.append(_json_line(run))
        finally:
            box.close()
    first, second = results
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        assert first[d + " write"] is True, first  # scratch space is there...
        assert "left-" + tag1 not in second[d], (d, second[d])  # ...and private to each run
    for d in ("/run/lock", "/var/lock"):
        assert second.get(d + " write") is not True, (d, second)
    assert "netgrade-" + tag1 not in second["mqueue"], second["mqueue"]
    assert first["add_key"] == -1 and first["add_key errno"] == 1, first  # keyrings: EPERM
    # nothing on the host
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock"):
        for tag in (tag1, tag2):
            assert not os.path.exists(os.path.join(d, "left-" + tag)), f"{d}/left-{tag} left on the host"
    if os.path.isdir("/dev/mqueue"):
        assert not any(tag in n for n in os.listdir("/dev/mqueue") for tag in (tag1, tag2))
    assert _host_ipc() == before, "SysV IPC objects were left on the host"


# ------------------------------------------------------------------ holes 6 and issue 15: what can be seen

SEARCH_PROGRAM = """
    import json, os, subprocess, sys
    found, tried = [], {}
    for name in ("reference", "harness", "suites", "netgrade", "netgrade.reference.udp_echo_server"):
        try:
            __import__(name)
            tried[name] = "imported"
        except ImportError as exc:
            tried[name] = type(exc).__name__
    wanted = {"udp_echo_server.py", "tcp_qq_server.py", "launcher.c", "test_framing.py", "savedfiles.py", sys.argv[1]}
    starts = ["/"] + [f"/proc/{p}/{w}" for p in os.listdir("/proc") if p.isdigit() for w in ("root", "cwd")]
    seen = 0
    for start in starts:
        for dirpath, dirnames, filenames in os.walk(start):
            if dirpath.startswith(("/proc", "/sys")) and start == "/":
                dirnames[:] = []
                continue
            seen += len(filenames)
            for f in filenames:
                if f in wanted or f.startswith("netgrade"):
                    found.append(os.path.join(dirpath, f))
            if seen > 200000:
                break
    for cmd in (["netgrade", "reference", "export", "x"], [sys.executable, "-m", "netgrade", "reference", "export", "x"]):
        try:
            tried["cmd " + cmd[-4]] = subprocess.run(cmd, capture_output=True).returncode
        except OSError as exc:
            tried["cmd " + cmd[-4]] = exc.strerror
    print("RESULT " + json.dumps({"found": found, "tried": tried, "files": seen, "path": sys.path}), flush=True)
"""


def test_program_sees_no_grader_code_and_no_other_submission(runner, tmp_path):
    """Import by name, walking the file system from /, /proc/*/root and /proc/*/cwd, running
    netgrade: none of it finds netgrade, its references, or a classmate's submission."""
    marker = f"classmate_{uuid.uuid4().hex[:8]}.py"
    classmate = tmp_path / "batch-in" / "bob"
    classmate.mkdir(parents=True)
    (classmate / marker).write_text("print('bob')\n")
    os.chmod(tmp_path, 0o755)
    src = program(tmp_path, SEARCH_PROGRAM)
    box = runner.open_sandbox(Evidence())
    try:
        ref = box.start(["sleep", "30"], label="reference", trusted=True)  # a grader-side process beside it
        run = box.start([PY, "prog.py", marker], label="p", files_from=src)
        assert run.wait_exit(60) == 0, run.crash_summary()
        got = _json_line(run)
        ref.kill()
    finally:
        box.close()
    assert got["found"] == [], got["found"]
    for name in ("reference", "harness", "suites", "netgrade", "netgrade.reference.udp_echo_server"):
        assert got["tried"][name] == "ModuleNotFoundError", got["tried"]
    assert got["tried"]["cmd netgrade"] not in (0, None), got["tried"]
    assert got["tried"]["cmd harness"] != 0, got["tried"]
    assert got["files"] > 100, "the walk saw almost nothing: the test would prove nothing"
    assert not any("site-packages" in p and os.path.basename(p) == "site-packages" and "netgrade" in p
                   for p in got["path"])


# ------------------------------------------------------------------ hole 7: disk

def test_work_folder_has_a_size_limit(runner, tmp_path):
    src = program(tmp_path, """
        import errno
        written = 0
        try:
            with open("big.bin", "wb") as f:
                while written < 600 * 2**20:
                    f.write(b"x" * 2**20)
                    f.flush()
                    written += 2**20
            print("WROTE", written)
        except OSError as exc:
            print("STOPPED", written // 2**20, errno.errorcode[exc.errno])
    """)
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_exit(60) is not None, run.crash_summary()
        assert "STOPPED" in run.out and ("ENOSPC" in run.out or "EFBIG" in run.out), run.out + run.err
        mib = int(run.out.split("STOPPED")[1].split()[0])
        assert mib <= box.limits.disk_mb, run.out
    finally:
        box.close()


# ------------------------------------------------------------------ hole 8: system calls

SYSCALL_PROGRAM = """
    import ctypes, json, os, socket
    libc = ctypes.CDLL(None, use_errno=True)
    def call(*args):
        r = libc.syscall(*args)
        return "ok" if r >= 0 else os.strerror(ctypes.get_errno())
    CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
    out = {
        "unshare user": "ok" if libc.unshare(CLONE_NEWUSER) == 0 else os.strerror(ctypes.get_errno()),
        "unshare net": "ok" if libc.unshare(CLONE_NEWNET) == 0 else os.strerror(ctypes.get_errno()),
        "keyctl": call(250, 0, -4, 0),                      # KEYCTL_GET_KEYRING_ID
        "ptrace": call(101, 16, 1, 0, 0),                   # PTRACE_ATTACH pid 1
        "mount": call(165, b"none", b"/tmp", b"tmpfs", 0, None),
        "bpf": call(321, 0, None, 0),
        "perf_event_open": call(298, None, 0, -1, -1, 0),
        "io_uring_setup": call(425, 1, None),
        "userfaultfd": call(323, 0),
    }
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    out["socket"] = "ok"
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    out["fork"] = os.waitpid(pid, 0)[1] >> 8
    import subprocess
    out["subprocess"] = subprocess.run(["true"]).returncode
    print("RESULT " + json.dumps(out), flush=True)
"""


def test_seccomp_filter_refuses_what_a_socket_program_never_needs(runner, tmp_path):
    src = program(tmp_path, SYSCALL_PROGRAM)
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_exit(20) == 0, run.crash_summary()
        got = _json_line(run)
    finally:
        box.close()
    for call in ("unshare user", "unshare net", "keyctl", "ptrace", "mount", "bpf", "perf_event_open",
                 "io_uring_setup", "userfaultfd"):
        assert got[call] == "Operation not permitted", (call, got)
    assert got["socket"] == "ok" and got["fork"] == 7 and got["subprocess"] == 0, got


# ------------------------------------------------------------------ a grader killed outright

def test_runs_die_with_a_grader_killed_outright(tmp_path):
    """SIGKILL to the grading process (no cleanup at all): every run it started dies too,
    although the run switched to a uid of its own (which clears a parent-death signal)."""
    import psutil
    token = f"netgrade-orphan-{uuid.uuid4().hex}"
    src = program(tmp_path, f"""
        import os, time
        if os.fork() == 0:
            os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 300; : {token}"])
        print("ready", flush=True)
        time.sleep(300)
    """)
    code = (
        "import sys, time\n"
        "from netgrade.evidence import Evidence\nfrom netgrade.pack import load\n"
        "from netgrade.runner import LocalRunner, make_workbase\n"
        f"box = LocalRunner(make_workbase({str(tmp_path)!r}), load().limits).open_sandbox(Evidence())\n"
        f"run = box.start([{PY!r}, 'prog.py'], label='p', files_from={str(src)!r})\n"
        "assert run.wait_output('ready', 20), run.crash_summary()\n"
        "print('STARTED', flush=True)\n"
        "time.sleep(300)\n")
    grader = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        assert grader.stdout.readline().strip() == "STARTED"

        def left() -> list:
            return [p for p in psutil.process_iter(["cmdline"]) if token in " ".join(p.info["cmdline"] or [])]
        assert left(), "the run's child should be running"
        grader.kill()
        grader.wait()
        deadline = time.monotonic() + 10
        while left() and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the kernel to end the pid namespace, with a deadline
        assert left() == [], "a run outlived its grader"
    finally:
        if grader.poll() is None:
            grader.kill()
