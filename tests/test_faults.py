"""Grader-side faults are ``error``, never the student's ``fail``.

Each fault is injected for real into a real grading run (``python3 -m netgrade
check`` or ``batch`` as a subprocess) and the test reads the verdicts: the
checks the fault touched are ``error`` with the reason, the others are graded
as usual, nothing is left behind (processes, temporary folders), and a batch
grades the touched checks again.  Every grading run here gets a temporary
folder of its own (``TMPDIR``) and a tag in its environment, so what it leaves
behind is found exactly.

The load tests (verdicts do not drift when every CPU is busy) are at the end.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, submission_with, wait_for_pause

PY = sys.executable
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, mounts)")


# ------------------------------------------------------------------ helpers

class Grader:
    """One grading subprocess with its own TMPDIR and a tag to find what it leaves.

    A grader a test started and did not finish (the test failed before ``finish``: e.g. a pause point never
    reached) is ended after the test by ``end_all`` (tests/conftest.py), so none is left waiting.
    """

    _live: set[Grader] = set()

    @classmethod
    def end_all(cls) -> list[int]:
        """Kill every grader's process group still running; returns their pids."""
        ended = []
        for g in list(cls._live):
            cls._live.discard(g)
            if g.proc is not None and g.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(g.proc.pid, signal.SIGKILL)
                g.proc.communicate()
                ended.append(g.proc.pid)
        return ended

    def __init__(self, tmp: Path, *, tmpdir: Path | None = None, wrap: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.tag = uuid.uuid4().hex
        self.tmpdir = tmpdir or (tmp / f"tmp-{self.tag[:8]}")
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.out = tmp / f"result-{self.tag[:8]}.json"
        self.wrap = wrap or []
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self.tmpdir), "NETGRADE_FAULT_TAG": self.tag,
                "PYTHONPATH": str(ROOT), **self.extra_env}

    def start(self, *args: str) -> subprocess.Popen:
        self.proc = subprocess.Popen([*self.wrap, PY, "-m", "netgrade", *args], cwd=ROOT, env=self.env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        Grader._live.add(self)
        return self.proc

    def check(self, sub: Path, *args: str, timeout: float = 240) -> tuple[dict, subprocess.CompletedProcess]:
        self.start("check", str(sub), "--json", str(self.out), *args)
        return self.finish(timeout)

    def finish(self, timeout: float = 240) -> tuple[dict, subprocess.CompletedProcess]:
        assert self.proc is not None
        try:
            out, err = self.proc.communicate(timeout=timeout)
        finally:
            Grader._live.discard(self)
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.communicate()
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)
        try:
            data = json.loads(self.out.read_text("utf-8"))
        except FileNotFoundError:
            raise AssertionError(f"no result file; exit {done.returncode}\n{out[-2000:]}\n{err[-2000:]}") from None
        return data, done

    def leftovers(self) -> list[str]:
        """Processes of this run still alive, and what remains in its TMPDIR."""
        left = []
        for p in psutil.process_iter(["pid", "cmdline", "environ"]):
            with contextlib.suppress(psutil.Error, TypeError):
                cmd = " ".join(p.info["cmdline"] or [])
                env = p.info["environ"] or {}
                if env.get("NETGRADE_FAULT_TAG") == self.tag or str(self.tmpdir) in cmd:
                    left.append(f"process {p.pid}: {cmd[:160]}")
        with contextlib.suppress(OSError):
            left += [f"file {x}" for x in os.listdir(self.tmpdir)]
        return left


def assert_clean(g: Grader, deadline_s: float = 10.0) -> None:
    """Nothing of the run is left (processes get ``deadline_s`` to finish dying)."""
    deadline = time.monotonic() + deadline_s
    while True:
        left = g.leftovers()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"left behind: {left}"


def statuses(result: dict) -> dict[str, tuple[str, str]]:
    return {f"{p['id']}/{c['id']}": (c["status"], c["message"]) for p in result["programs"] for c in p["checks"]}


def worker_of(proc: psutil.Process, grader_pid: int) -> psutil.Process | None:
    """The process grading the check ``proc`` runs in: its ancestor just below the grading process (an xdist
    worker, or a fork of the grading process)."""
    p = proc
    while True:
        parent = p.parent()
        if parent is None:
            return None
        if parent.pid == grader_pid:
            return p
        p = parent


def wait_for_program(root_pid: int, name: str, timeout: float = 60) -> psutil.Process:
    """A descendant of ``root_pid`` running ``name`` (polled until the deadline)."""
    deadline = time.monotonic() + timeout
    root = psutil.Process(root_pid)
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if any(a.endswith(name) for a in child.cmdline()):
                        return child
        time.sleep(0.01)
    raise AssertionError(f"{name} never started under {root_pid}")


@pytest.fixture
def refs(exported) -> Path:
    return exported


# ------------------------------------------------------------------ a worker killed mid-check

#: seconds the echo server of the worker tests waits before it starts: the window in which the test sees its
#: run and kills the process grading it (the reference binds within milliseconds, and a check that ends
#: before the test looks is not killed at all: seen once under load); well inside the 3 s a server gets
SLOW_START_S = 1.5


def slow_echo_server(refs: Path) -> str:
    """The reference echo server, starting SLOW_START_S late (it still passes every check)."""
    return f"import time\ntime.sleep({SLOW_START_S})\n" + (refs / "udp_echo_server.py").read_text("utf-8")


def kill_workers_running(g: Grader, name: str, *, once: bool, timeout: float = 120) -> list[int]:
    """SIGKILL the pytest worker of every run of ``name`` (the first only, if ``once``) until the grader ends."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    root = psutil.Process(g.proc.pid)
    while g.proc.poll() is None and time.monotonic() < deadline and not (once and killed):
        with contextlib.suppress(psutil.Error):
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if any(a.endswith(name) for a in child.cmdline()):
                        worker = worker_of(child, g.proc.pid)
                        if worker is not None and worker.pid != g.proc.pid and worker.pid not in killed:
                            worker.send_signal(signal.SIGKILL)
                            killed.append(worker.pid)
                            break
        time.sleep(0.01)
    return killed


@ROOT_ONLY
def test_worker_killed_once_mid_check_is_graded_again(tmp_path, refs):
    """SIGKILL the pytest worker while it runs a check: the check is graded again in a new worker."""
    sub = submission_with(tmp_path, {"udp_echo_server.py": slow_echo_server(refs)})
    g = Grader(tmp_path)
    g.start("check", str(sub), "--program", "udp-echo-server", "--jobs", "2", "--json", str(g.out))
    assert len(kill_workers_running(g, "udp_echo_server.py", once=True)) == 1
    result, done = g.finish()
    got = statuses(result)
    assert all(st == "pass" for st, _ in got.values()), got
    full, _ = Grader(tmp_path).check(sub, "--program", "udp-echo-server")
    assert set(got) == set(statuses(full))  # no check dropped, none twice
    assert len(got) == sum(len(p["checks"]) for p in result["programs"])
    assert any("worker process died while grading udp-echo-server/" in n for n in result["notices"]), result["notices"]
    assert done.returncode == 0
    assert_clean(g)


@ROOT_ONLY
def test_worker_killed_every_time_is_error_never_fail(tmp_path, refs):
    """Every worker that runs the server is killed: its checks are ``error`` with the reason, none ``fail``."""
    sub = submission_with(tmp_path, {"udp_echo_server.py": slow_echo_server(refs),
                                     "udp_send.py": refs / "udp_send.py"})
    g = Grader(tmp_path)
    g.start("check", str(sub), "--program", "udp-echo-server", "--program", "udp-send", "--jobs", "2",
            "--json", str(g.out))
    killed = kill_workers_running(g, "udp_echo_server.py", once=False)
    result, done = g.finish()
    assert len(killed) >= 2
    got = statuses(result)
    full, _ = Grader(tmp_path).check(sub, "--program", "udp-echo-server", "--program", "udp-send")
    assert set(got) == set(statuses(full))  # every check has a verdict
    assert not [k for k, (st, _) in got.items() if st == "fail"], got
    for key, (st, msg) in got.items():
        if key.startswith("udp-echo-server/"):
            assert st == "error", (key, st, msg)
        if st == "error":
            assert ("worker process died" in msg or "never run" in msg) and "not the program's fault" in msg, msg
    assert done.returncode == 1
    assert_clean(g)


# ------------------------------------------------------------------ the work folder's disk full, /tmp unusable

# Run the grader in a private mount namespace where TMPDIR is a small tmpfs filled up to
# FREE_KIB free: the mount exists only for that process tree and goes with it.
FULL_DISK = r"""
free=$1; shift
mount -t tmpfs -o size=4m netgrade-full "$TMPDIR" || exit 99
dd if=/dev/zero of="$TMPDIR/.filler" bs=4k 2>/dev/null
truncate -s -"${free}K" "$TMPDIR/.filler"
"$@"; rc=$?
echo "LEFT IN TMPDIR:$(ls -A "$TMPDIR" | grep -v '^.filler$' | tr '\n' ' ')" >&2
exit $rc
"""


def full_disk(free_kib: int) -> list[str]:
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", FULL_DISK, "sh", str(free_kib)]


def left_in_namespace(done: subprocess.CompletedProcess) -> str:
    lines = [x for x in done.stderr.splitlines() if x.startswith("LEFT IN TMPDIR:")]
    assert lines, done.stderr[-2000:]
    return lines[-1].removeprefix("LEFT IN TMPDIR:").strip()


@ROOT_ONLY
def test_machine_disk_full_costs_the_programs_nothing(tmp_path, refs):
    """ENOSPC in the grader's temporary folder: the programs' work folders are tmpfs of their own
    (the pack's disk_mb), so every check is graded as usual and nothing is left behind."""
    sub = submission_with(tmp_path, {"udp_send.py": refs / "udp_send.py", "tftp_server.py": refs / "tftp_server.py",
                                     "tftp_codec.py": refs / "tftp_codec.py",
                                     "tftp_transfer.py": refs / "tftp_transfer.py"})
    g = Grader(tmp_path, wrap=full_disk(60))
    result, done = g.check(sub, "--program", "udp-send", "--program", "tftp-server", "--program", "udp-recv")
    got = statuses(result)
    graded = {k: v for k, v in got.items() if not k.startswith("udp-recv/")}
    assert graded and all(st == "pass" for st, _ in graded.values()), got
    recv = [p for p in result["programs"] if p["id"] == "udp-recv"][0]
    assert recv["status"] == "missing" and all(c["status"] == "skip" for c in recv["checks"])
    assert left_in_namespace(done) == ""
    assert_clean(g)


@ROOT_ONLY
def test_work_folder_that_cannot_be_made_is_the_graders_error(tmp_path):
    """ENOSPC while the grader prepares a work folder on its own disk (a reference program's, in the
    host view) is a SandboxError naming the folder and the reason: the plugin's ``error``, never ``fail``."""
    base = tmp_path / "full"
    base.mkdir()
    script = f"mount -t tmpfs -o size=64k netgrade-full {base} && exec \"$@\""
    code = (
        "import sys\n"
        "from netgrade.evidence import Evidence\nfrom netgrade.pack import load\n"
        "from netgrade.runner import LocalRunner, make_workbase\nfrom netgrade.sandbox import SandboxError\n"
        f"box = LocalRunner(make_workbase({str(base)!r}), load().limits).open_sandbox(Evidence())\n"
        "try:\n"
        "    box.start(['true'], label='reference', files={'big.bin': b'x' * 2**20}, trusted=True)\n"
        "except SandboxError as exc:\n"
        "    print('SANDBOX ERROR', exc)\n"
        "finally:\n"
        "    box.close()\n")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                           sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "SANDBOX ERROR cannot prepare the run's work folder under" in done.stdout, done.stdout + done.stderr
    assert "No space left on device" in done.stdout, done.stdout


FREE_KIB_BATCH = 24  # less than the grader's own result file needs


@ROOT_ONLY
def test_machine_disk_too_full_for_the_graders_files_is_error_in_a_batch(tmp_path, refs):
    """In a batch whose grading process cannot even write its result, the submission is ``error``
    with the reason (recorded by the batch, which keeps going), never a score."""
    klass = tmp_path / "class"
    submission_with(klass / "s1", {"udp_send.py": refs / "udp_send.py"})
    (klass / "s1" / "submission").rename(klass / "s1x")
    (klass / "s1").rmdir()
    out = tmp_path / "graded"
    g = Grader(tmp_path, wrap=full_disk(FREE_KIB_BATCH))
    g.start("batch", str(klass), "--out", str(out), "--program", "udp-send", "--jobs", "1")
    _, err = g.proc.communicate(timeout=300)
    meta = json.loads((out / "s1x" / "batch.json").read_text("utf-8"))
    result = json.loads((out / "s1x" / "result.json").read_text("utf-8"))
    assert result["status"] == "error" and "No space left on device" in result["message"], result
    assert meta["status"] == "error", meta
    assert g.proc.returncode == 1
    assert "LEFT IN TMPDIR:" in err and err.split("LEFT IN TMPDIR:")[-1].strip() == "", err[-2000:]
    assert_clean(g)


@ROOT_ONLY
def test_no_usable_temporary_folder_is_error_with_a_result(tmp_path, refs):
    """TMPDIR, /tmp and /var/tmp read-only: an ``error`` result naming TMPDIR, exit 1, no traceback."""
    shm = Path("/dev/shm") / f"netgrade-faults-{uuid.uuid4().hex[:8]}"  # outside every folder made read-only
    try:
        sub = submission_with(shm, {"udp_send.py": refs / "udp_send.py"})
        ro = shm / "ro"
        ro.mkdir()
        # read-only binds of the folders themselves: what is in them (a checkout under /tmp) stays readable
        script = ('for d in /tmp /var/tmp "$TMPDIR"; do mount --bind "$d" "$d" && mount -o remount,bind,ro "$d"'
                  ' || exit 99; done; cd "$TMPDIR" && exec "$@"')
        g = Grader(tmp_path, tmpdir=ro, wrap=["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"])
        g.out = shm / "result.json"
        result, done = g.check(sub, "--program", "udp-send")
        assert result["status"] == "error", result
        assert "no usable temporary folder" in result["message"] and f"TMPDIR={ro}" in result["message"]
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        assert done.returncode == 1
        assert_clean(g)
    finally:
        shutil.rmtree(shm, ignore_errors=True)


# ------------------------------------------------------------------ verdicts under load

LOAD_BOUND_S = 600  # the load generator never outlives this, whatever happens to the test


@contextlib.contextmanager
def cpu_load():
    """One busy-loop process per core beside the grading, killed by PID at the end (bounded in time)."""
    n = os.cpu_count() or 1
    code = f"import time\nend = time.monotonic() + {LOAD_BOUND_S}\nwhile time.monotonic() < end:\n    pass\n"
    procs = [subprocess.Popen([PY, "-c", code], stdin=subprocess.DEVNULL) for _ in range(n)]
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # busy for real before grading starts
            busy = [psutil.Process(p.pid).cpu_times().user for p in procs]
            if all(b > 0.05 for b in busy):
                break
            time.sleep(0.02)
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait(timeout=10)


@ROOT_ONLY
def test_full_marks_with_every_cpu_busy(tmp_path, refs):
    """A correct submission graded beside a full-CPU load: full marks, nothing failed even once."""
    g = Grader(tmp_path)
    with cpu_load() as load:
        result, done = g.check(refs, "--program", "udp-send", "--program", "udp-echo-server",
                               "--program", "tcp-thanks-server", "--program", "tftp-client", timeout=400)
        assert all(p.poll() is None for p in load), "the load ended before the grading did"
    bad = {k: v for k, v in statuses(result).items() if v[0] != "pass"}
    assert not bad, bad
    assert result["score"] == result["max_score"] > 0
    assert done.returncode == 0
    assert_clean(g)


@ROOT_ONLY
def test_batch_of_twenty_needs_no_retry_under_load(tmp_path, refs):
    """20 correct submissions graded as a batch with every CPU busy: no check needed the flaky retry."""
    klass = tmp_path / "class"
    for i in range(20):
        d = klass / f"s{i:02d}"
        d.mkdir(parents=True)
        for name in ("udp_send.py", "udp_echo_server.py"):
            shutil.copyfile(refs / name, d / name)
        (d / "README.txt").write_text(f"student {i}\n")  # each one its own content (no cache hit)
    out = tmp_path / "graded"
    g = Grader(tmp_path)
    with cpu_load():
        g.start("batch", str(klass), "--out", str(out), "--program", "udp-send", "--program", "udp-echo-server")
        _, err = g.proc.communicate(timeout=LOAD_BOUND_S - 60)
    assert g.proc.returncode == 0, err[-2000:]
    metas = {d.name: json.loads((d / "batch.json").read_text("utf-8")) for d in sorted(out.iterdir())
             if (d / "batch.json").is_file()}
    assert len(metas) == 20
    retried = {name: m["retried"] for name, m in metas.items() if m["retried"]}
    assert not retried, retried
    for name in metas:
        result = json.loads((out / name / "result.json").read_text("utf-8"))
        assert result["score"] == result["max_score"] > 0, (name, statuses(result))
    assert_clean(g)


# ------------------------------------------------------------------ the peer's port already taken

def test_peer_port_taken_by_the_grading_machine_is_error(tmp_path, refs):
    """On the host's loopback, something of the machine holds the peer's port: ``error``, never ``fail``.

    udp-send's peer and our reference receiver both need UDP 8080; this test holds
    it.  udp-recv (graded on other ports) is graded as usual.
    """
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            holder.bind(("127.0.0.1", 8080))
        except OSError as exc:
            pytest.skip(f"UDP 127.0.0.1:8080 is already in use on this machine ({exc.strerror}); cannot hold it")
        sub = submission_with(tmp_path, {"udp_send.py": refs / "udp_send.py", "udp_recv.py": refs / "udp_recv.py"})
        g = Grader(tmp_path)
        result, done = g.check(sub, "--program", "udp-send", "--program", "udp-recv", "--no-namespaces")
    finally:
        holder.close()
    got = statuses(result)
    send = {k: v for k, v in got.items() if k.startswith("udp-send/")}
    assert send and all(st == "error" for st, _ in send.values()), send
    for key, (_, msg) in send.items():
        assert ("peer could not bind its port" in msg or "reference udp-recv crashed" in msg
                or f"UDP 127.0.0.1:8080, the sheet's port, is held by pid {os.getpid()}:" in msg) and \
            "not the program" in msg, (key, msg)
    assert "Address already in use" in send["udp-send/with-reference"][1]
    assert all(st == "pass" for k, (st, _) in got.items() if k.startswith("udp-recv/")), got
    assert done.returncode == 1
    assert_clean(g)


def test_the_servers_port_held_by_the_grading_machine_is_error_not_its_echo(tmp_path, refs):
    """On the host's loopback, something of the machine echoes on the server's own port (UDP 8090).

    The program cannot bind it and ends.  That other socket is never graded as the program's: every check
    is the grader's ``error``, naming the process that holds the port.  Taken for the program's listener,
    the stranger's echoes would pass the checks of a program that never ran.
    """
    import threading
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        holder.bind(("127.0.0.1", 8090))
    except OSError as exc:
        holder.close()
        pytest.skip(f"UDP 127.0.0.1:8090 is already in use on this machine ({exc.strerror}); cannot hold it")
    holder.settimeout(0.2)
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                data, addr = holder.recvfrom(65535)
                holder.sendto(data, addr)
    t = threading.Thread(target=echo, daemon=True)
    t.start()
    try:
        sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py"})
        g = Grader(tmp_path)
        result, done = g.check(sub, "--program", "udp-echo-server", "--no-namespaces")
    finally:
        stop.set()
        t.join()
        holder.close()
    got = statuses(result)
    assert got and all(st == "error" for st, _ in got.values()), got
    for key, (_, msg) in got.items():
        assert "UDP 127.0.0.1:8090, the sheet's port, is held by pid" in msg and f"pid {os.getpid()}:" in msg \
            and "not the program's fault" in msg, (key, msg)
    assert done.returncode == 1
    assert_clean(g)


# ------------------------------------------------------------------ the cgroup file system unavailable

# Run the grader in a mount namespace of its own where /sys/fs/cgroup is an empty tmpfs, or where every
# cgroup mount is read-only (a per-mount flag, in that namespace only: the machine's stay as they are).
NO_CGROUPS = {
    "empty": 'mount -t tmpfs -o size=1m netgrade-nocgroup /sys/fs/cgroup || exit 99; exec "$@"',
    "read-only": 'for m in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do mount -o remount,bind,ro "$m" || exit 99;'
                 ' done; exec "$@"',
}


def without_cgroups(how: str) -> list[str]:
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", NO_CGROUPS[how], "sh"]


@ROOT_ONLY
@pytest.mark.parametrize("how", sorted(NO_CGROUPS))
def test_no_cgroups_is_error_with_the_docker_runner(tmp_path, refs, how):
    """The Docker runner holds every student run to a cgroup of its own (the pack's memory and process
    limits): where none can be made, no run is started and the checks are ``error`` saying so, never a
    run without its limits, never ``fail``."""
    from dockerenv import netgrade_containers, require_docker
    client, _tag = require_docker()
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py"})
    g = Grader(tmp_path, wrap=without_cgroups(how))
    result, done = g.check(sub, "--runner", "docker", "--program", "udp-echo-server", "--program", "udp-recv")
    got = statuses(result)
    echo = {k: v for k, v in got.items() if k.startswith("udp-echo-server/")}
    assert echo and all(st == "error" for st, _ in echo.values()), got
    for key, (_, msg) in echo.items():
        assert "the run's cgroup could not be made: " in msg, (key, msg)
        assert "its memory and process limits cannot be enforced; not the program's fault" in msg, (key, msg)
        assert ("is not there" if how == "empty" else "Read-only file system") in msg, (key, msg)
    recv = [p for p in result["programs"] if p["id"] == "udp-recv"][0]  # missing: graded as usual
    assert recv["status"] == "missing" and all(c["status"] == "skip" for c in recv["checks"]), recv
    assert result["status"] == "graded" and done.returncode == 1
    assert_clean(g)
    left = [c.short_id for c in netgrade_containers(client)
            if (c.attrs.get("Labels") or {}).get("netgrade.owner") == str(g.proc.pid)]
    assert left == [], f"containers left behind: {left}"


@ROOT_ONLY
def test_no_cgroups_costs_the_local_runner_nothing(tmp_path, refs):
    """The local runner needs no cgroup: a run's limits are rlimits (CPU, address space, file size,
    processes, set by the launcher) and its processes end with its pid namespace.  With /sys/fs/cgroup
    empty, a correct submission gets full marks."""
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py",
                                     "udp_send.py": refs / "udp_send.py"})
    g = Grader(tmp_path, wrap=without_cgroups("empty"))
    result, done = g.check(sub, "--program", "udp-echo-server", "--program", "udp-send")
    bad = {k: v for k, v in statuses(result).items() if v[0] != "pass"}
    assert not bad, bad
    assert result["score"] == result["max_score"] > 0 and done.returncode == 0
    assert_clean(g)


def test_a_missing_cgroup_controller_is_named_never_skipped(tmp_path):
    """A student container without a memory (or pids) cgroup must not get runs without that limit:
    the reason names what is missing (before, runs went on without limits when no folder was found)."""
    from netgrade.docker.runner import cgroup_problem
    pids = tmp_path / "pids"
    pids.mkdir()
    assert cgroup_problem({"pids": str(pids)}, 4242) == "the student container has no memory cgroup (/proc/4242/cgroup)"
    assert "has no memory or pids cgroup" in cgroup_problem({}, 4242)
    gone = cgroup_problem({"pids": str(pids), "memory": str(tmp_path / "memory")}, 4242)
    assert gone and "memory cgroup" in gone and "is not there" in gone
    (tmp_path / "memory").mkdir()
    assert cgroup_problem({"pids": str(pids), "memory": str(tmp_path / "memory")}, 4242) is None


# ------------------------------------------------------------------ a run the sandbox cannot set up

NO_SETUP_SUITE = """
from netgrade.checks import check, fail

@check("udp-echo-server", "must", "a server whose run the sandbox cannot set up", id="no-setup")
def test_no_setup(sandbox, limits):
    # a working folder that is not there: the launcher stops before the program runs (exit 125)
    run = sandbox.start(["python3", "-c", "pass"], label="udp-echo-server", files={"x.py": b""},
                        cwd="no/such/folder")
    if run.wait_listening("udp", 8090, limits.ready_s) is None:
        fail("nothing listens on UDP 8090")
"""


@ROOT_ONLY
@pytest.mark.parametrize("runner_name", ["local", "docker"])
def test_a_server_the_sandbox_cannot_start_is_error_not_fail(tmp_path, refs, runner_name):
    """The launcher fails to set a server's run up: the check saw no server, but that is the grader's
    failure (it was the server's ``fail``: only a client's run was ever waited for and asked why)."""
    if runner_name == "docker":
        from dockerenv import require_docker
        require_docker()
    suite = tmp_path / "no_setup_checks.py"
    suite.write_text(NO_SETUP_SUITE, "utf-8")
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py"})
    g = Grader(tmp_path)
    result, done = g.check(sub, "--runner", runner_name, "--program", "udp-echo-server", "--suites", str(suite))
    got = statuses(result)
    st, msg = got["udp-echo-server/no-setup"]
    assert st == "error", (st, msg)
    assert msg.startswith("grader error: the sandbox could not start udp-echo-server: netgrade-sandbox: setup failed:"
                          " chdir"), msg
    assert "not the program's fault (the check saw: fail: nothing listens on UDP 8090)" in msg, msg
    assert all(st == "pass" for k, (st, _) in got.items() if k != "udp-echo-server/no-setup"), got  # as usual
    assert done.returncode == 1
    assert_clean(g)


FORGED_SETUP_FAILURE = """\
import sys
# a program that pretends the sandbox failed, hoping for a grader error (and a regrade) instead of its fail
sys.stderr.write("netgrade-sandbox: setup failed: mount tmpfs /work: No space left on device\\n")
sys.exit(125)
"""


@ROOT_ONLY
@pytest.mark.parametrize("runner_name", ["local", "docker"])
def test_a_program_cannot_fake_a_setup_failure(tmp_path, runner_name):
    """Only the launcher writes to the run's status pipe (closed when the program starts): a program that
    prints the launcher's words and exits 125 fails its checks as itself, it is never a grader error."""
    if runner_name == "docker":
        from dockerenv import require_docker
        require_docker()
    sub = submission_with(tmp_path, {"udp_echo_server.py": FORGED_SETUP_FAILURE,
                                     "tcp_thanks_client.py": FORGED_SETUP_FAILURE})
    g = Grader(tmp_path)
    result, done = g.check(sub, "--runner", runner_name, "--program", "udp-echo-server",
                           "--program", "tcp-thanks-client")
    got = statuses(result)
    errors = {k: m for k, (st, m) in got.items() if st == "error"}
    assert not errors, errors
    assert got["udp-echo-server/port"][0] == "fail" and "exited with status 125" in got["udp-echo-server/port"][1], got
    assert got["tcp-thanks-client/line-arrives"][0] == "fail", got
    assert done.returncode == 1
    assert_clean(g)


def test_a_grader_a_failed_test_left_paused_is_ended(tmp_path, exported):
    """The cleanup behind every test (conftest's ``_end_stray_graders``): a grader left waiting at a pause point,
    as a test that fails before releasing it leaves one, is killed with its process group, and nothing remains."""
    flag = tmp_path / "paused"
    g = Grader(tmp_path, env={"NETGRADE_PAUSE_AT": f"check-started:{flag}"})
    g.start("check", str(exported), "--program", "udp-send", "--json", str(g.out))
    wait_for_pause(g.proc, flag, 60)
    assert Grader.end_all() == [g.proc.pid]
    assert g.proc.returncode == -signal.SIGKILL
    assert_clean(g)


@ROOT_ONLY
def test_a_sandbox_not_ready_within_the_time_limit_is_error(tmp_path, refs):
    """The check's time limit runs out while its sandbox is still being made (here: the Docker runner held at
    its second check's containers, as an engine that stopped answering holds it): no program of the student's
    ran, so that check is ``error``, never "the program hung"; the checks around it are graded as usual."""
    from dockerenv import require_docker
    require_docker()
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py"})
    pack = tmp_path / "short.toml"
    pack.write_text("[limits]\ncheck_s = 8.0\n", "utf-8")
    flag = tmp_path / "held"  # never released: the pause outlasts the check's time limit
    g = Grader(tmp_path, env={"NETGRADE_PAUSE_AT": f"docker-check-2:{flag}"})
    result, done = g.check(sub, "--runner", "docker", "--jobs", "1", "--pack", str(pack),
                           "--program", "udp-echo-server")
    echo = [(c["id"], c["status"], c["message"]) for c in result["programs"][0]["checks"]]
    assert flag.exists(), "the pause point was never reached"
    held = echo[1]
    assert held[1] == "error" and "the check's sandbox was not ready within the check's time limit (8 s)" in held[2] \
        and "not the program's fault" in held[2], echo
    assert [st for _, st, _ in echo[:1] + echo[2:]] == ["pass"] * (len(echo) - 1), echo
    assert done.returncode == 1  # a grader error
    assert_clean(g)


@ROOT_ONLY
def test_an_inherited_xdist_worker_id_changes_nothing(tmp_path, refs):
    """netgrade started from an xdist worker of someone else's pytest run (an instructor's own tests, these
    tests) inherits PYTEST_XDIST_WORKER=gw1: its own single-process grading must not take that for its worker
    number (it then waited for a container pair no one made, and every check timed out as the program's)."""
    from dockerenv import require_docker
    require_docker()
    sub = submission_with(tmp_path, {"udp_echo_server.py": refs / "udp_echo_server.py"})
    g = Grader(tmp_path, env={"PYTEST_XDIST_WORKER": "gw1", "PYTEST_XDIST_WORKER_COUNT": "2"})
    result, done = g.check(sub, "--runner", "docker", "--jobs", "1", "--program", "udp-echo-server")
    echo = [(c["id"], c["status"], c["message"]) for c in result["programs"][0]["checks"]]
    assert all(st == "pass" for _, st, _ in echo), echo
    assert done.returncode == 0
    assert_clean(g)
