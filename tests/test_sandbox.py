"""The sandboxes contain hostile programs (real processes, real namespaces, real containers).

Every test runs with the local runner and with the Docker runner (skipped,
saying why, where no engine answers)."""
from __future__ import annotations

import contextlib
import os
import socket
import struct
import textwrap
import time
import uuid

import psutil
import pytest
from conftest import fork_bomb

from netgrade.evidence import Evidence
from netgrade.sandbox import userns
from netgrade.sandbox.netns import namespace_support

pytestmark = pytest.mark.skipif(namespace_support() != "netns",
                                reason=f"network namespaces unavailable: {namespace_support()}")
PY = os.path.realpath(__import__("sys").executable)


def program(tmp_path, source: str, name: str = "prog.py"):
    d = tmp_path / f"src-{uuid.uuid4().hex[:6]}"
    (d / name).parent.mkdir(parents=True)
    (d / name).write_text(textwrap.dedent(source), "utf-8")
    return d


def leftovers(token: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(token in part for part in (p.info["cmdline"] or [])):
                out.append(p)
        except psutil.Error:
            pass
    return out


def test_fixed_ports_in_parallel_sandboxes(runner, tmp_path):
    src = program(tmp_path, """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("", 8090))
        data, addr = s.recvfrom(100)
        s.sendto(data, addr)
    """)
    boxes = [runner.open_sandbox(Evidence()) for _ in range(3)]
    try:
        runs = [b.start([PY, "prog.py"], label="p", files_from=src) for b in boxes]
        for run in runs:
            assert run.wait_listening("udp", 8090, 10) is not None, run.crash_summary()
        for i, box in enumerate(boxes):  # each sandbox has its own port 8090
            s = box.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.sendto(f"box {i}".encode(), ("127.0.0.1", 8090))
            assert s.recvfrom(100)[0] == f"box {i}".encode()
    finally:
        for b in boxes:
            b.close()


def test_double_fork_and_setsid_leave_nothing_behind(runner, tmp_path):
    token = f"netgrade-daemon-{uuid.uuid4().hex}"
    src = program(tmp_path, f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:  # a detached grandchild in a session of its own
                os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 300; : {token}"])
            os._exit(0)
        print("parent done", flush=True)
        time.sleep(300)
    """)
    box = runner.open_sandbox(Evidence())
    run = box.start([PY, "prog.py"], label="p", files_from=src)
    assert run.wait_output("parent done", 10)
    deadline = time.monotonic() + 5
    while not leftovers(token) and time.monotonic() < deadline:
        run.wait_output("never printed", 0.05)
    assert leftovers(token), "the detached grandchild should be running before cleanup"
    box.close()
    deadline = time.monotonic() + 5
    while leftovers(token) and time.monotonic() < deadline:
        run.wait_exit(0.02)
    assert leftovers(token) == []


def test_output_flood_is_capped(runner, tmp_path):
    src = program(tmp_path, """
        import sys
        chunk = "x" * 65536 + "\\n"
        for _ in range(800):          # ~50 MiB
            sys.stdout.write(chunk)
        print("THE END")
    """)
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_exit(60) == 0
        cap = runner.limits.output_kib * 1024
        assert run.stdout.total > 50_000_000
        assert len(run.stdout.head) == cap and len(run.stdout.tail) == cap
        assert run.stdout.dropped == run.stdout.total - 2 * cap
        assert "THE END" in run.out and "bytes left out" in run.out
    finally:
        box.close()


def test_no_route_off_loopback(runner, tmp_path):
    """Inside the sandbox only loopback exists: nothing can reach any other network."""
    src = program(tmp_path, """
        import socket
        print(sorted(name for _, name in socket.if_nameindex()))
        for addr in ("10.1.2.3", "8.8.8.8", "192.168.7.7"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.sendto(b"x", (addr, 9))
                print(addr, "SENT")
            except OSError as e:
                print(addr, "errno", e.errno)
    """)
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_exit(10) == 0, run.crash_summary()
        assert "['lo']" in run.out
        assert "SENT" not in run.out  # ENETUNREACH (101) for every one
        assert run.out.count("errno 101") == 3, run.out
    finally:
        box.close()


def test_program_cannot_signal_the_grader_or_write_outside(runner, tmp_path):
    marker = tmp_path / "grader-owned.txt"
    marker.write_text("grade: 100")
    src = program(tmp_path, f"""
        import os, signal
        print("pid", os.getpid(), "ppid", os.getppid(), "uid", os.getuid())
        for target in ({os.getpid()}, os.getppid(), -1):
            try:
                os.kill(target, signal.SIGTERM) if target else None
                print("kill", target, "ok")
            except OSError as e:
                print("kill", target, "refused", e.errno)
        for path in ({str(marker)!r}, "/root/fake-result.json", "/etc/netgrade-owned"):
            try:
                open(path, "w").write("grade: 0")
                print("write", path, "ok")
            except OSError as e:
                print("write", path, "refused")
        open("mine.txt", "w").write("ok")
        print("workdir write ok")
    """)
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_exit(10) is not None
        assert "workdir write ok" in run.out, run.crash_summary()
        assert " ok" not in run.out.replace("workdir write ok", "").replace("kill 0 ok", ""), run.out
        assert marker.read_text() == "grade: 100"
        assert not os.path.exists("/root/fake-result.json")
    finally:
        box.close()
    # the grader is alive to run this line


def test_fork_bomb_and_memory_hog_are_contained(runner, tmp_path):
    src = program(tmp_path, fork_bomb(then=textwrap.dedent("""
        try:
            hog = bytearray(4 * 1024 ** 3)
            print("allocated 4 GiB")
        except MemoryError:
            print("memory refused", flush=True)
    """)))
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_output("memory refused", 30), run.out + run.err
        n = int(run.out.split("fork refused after")[1].split()[0])
        assert n < runner.limits.processes
    finally:
        box.close()


def test_lab_address_exists_only_inside(runner, tmp_path):
    src = program(tmp_path, """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("192.168.1.15", 8090))
        print("bound", s.getsockname(), flush=True)
    """)
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_exit(10) == 0, run.crash_summary()
        assert "bound ('192.168.1.15', 8090)" in run.out
    finally:
        box.close()
    if os.environ.get(userns.MARK):
        return  # inside netgrade's own user namespace the grader's network is an empty private one
    host = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(OSError):  # not an address of the host
        host.bind(("192.168.1.15", 0))
    host.close()


def test_catch_all_redirect_is_confined_to_the_namespace(runner, tmp_path):
    """Traffic to any address reaches the peer, and no interface leads out."""
    src = program(tmp_path, """
        import os, socket
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"to 8.8.8.8", ("8.8.8.8", 5353))
        t = socket.create_connection(("10.1.2.3", 8088), timeout=3)
        t.sendall(b"to 10.1.2.3")
        print("peer seen as", t.getpeername(), flush=True)
        t.close()
        # every interface is in this namespace, and so is the other end of each veth
        import subprocess
        try:
            links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        except FileNotFoundError:  # an image without iproute2
            links = ""
        names = sorted(name for _, name in socket.if_nameindex())
        print("interfaces", names, "link-netns" not in links, sorted(os.listdir("/sys/class/net")))
    """)
    box = runner.open_sandbox(Evidence())
    try:
        box.enable_catch_all("test")
        udp = box.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 5353))
        udp.settimeout(5)
        tcp = box.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 8088))
        tcp.listen()
        tcp.settimeout(5)
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert udp.recvfrom(100)[0] == b"to 8.8.8.8"
        conn, _ = tcp.accept()
        assert conn.recv(100) == b"to 10.1.2.3"
        conn.close()
        assert run.wait_exit(10) == 0, run.crash_summary()
        assert "peer seen as ('10.1.2.3', 8088)" in run.out
        assert "interfaces ['lo', 'ng0', 'ng1'] True ['lo', 'ng0', 'ng1']" in run.out, run.out
    finally:
        box.close()
    # the host has no such interfaces: nothing was created outside
    assert not os.path.exists("/sys/class/net/ng0") and not os.path.exists("/sys/class/net/ng1")


def test_server_that_runs_what_the_peer_sends_is_contained(runner, tmp_path):
    """Some real sticky-packet servers run every message as a shell command (a remote shell):
    the commands run in the same sandbox, under the same user id and limits, as the program."""
    marker = tmp_path / "grader-file"
    src = program(tmp_path, """
        import socket, struct, subprocess
        srv = socket.socket()
        srv.bind(("0.0.0.0", 9100))
        srv.listen()
        conn, _ = srv.accept()
        def recv_exactly(n):
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise SystemExit(0)
                data += chunk
            return data
        while True:
            n = struct.unpack("!I", recv_exactly(4))[0]
            cmd = recv_exactly(n).decode()
            res = subprocess.run(cmd, shell=True, capture_output=True)
            out = res.stdout + res.stderr
            conn.sendall(struct.pack("!I", len(out)) + out)
    """)
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        assert run.wait_listening("tcp", 9100, 10) is not None, run.crash_summary()
        s = box.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(("127.0.0.1", 9100))

        def shell(cmd: str) -> str:
            s.sendall(struct.pack("!I", len(cmd.encode())) + cmd.encode())
            n = struct.unpack("!I", s.recv(4, socket.MSG_WAITALL))[0]
            return s.recv(n, socket.MSG_WAITALL).decode(errors="replace") if n else ""

        if userns.single_uid():  # one uid only (a non-root grader): the program's is the grader's, powerless
            assert shell("grep CapEff /proc/self/status").split() == ["CapEff:", "0000000000000000"]
        else:
            assert shell("id -u").strip() not in ("0", "")
        assert "PWNED" not in shell(f"echo PWNED > {marker} && cat {marker}")
        assert not marker.exists()
        assert "root:" not in shell("cat /etc/shadow")
        out = shell("""python3 -c "import socket; socket.create_connection(('8.8.8.8', 53), timeout=2)" """)
        assert "Error" in out, out  # no route off the sandbox's loopback
        assert "ok" in shell("echo ok")  # the program itself is still serving
        s.close()
    finally:
        box.close()


def test_the_graders_own_sockets_are_never_a_programs_listener(runner, tmp_path):
    """A listener is the program's only: sockets the grader opened in the sandbox (a peer's, a control socket
    bound beside a client, the reserved UDP ports) are left out by inode, even on the port the program was
    told, so a program that never binds is not taken for one that listens there."""
    src = program(tmp_path, """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1], flush=True)
        sys.stdin.read()
    """)
    box = runner.open_sandbox(Evidence())
    try:
        mine_udp = box.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mine_udp.bind(("127.0.0.1", 8095))
        mine_tcp = box.socket(socket.AF_INET, socket.SOCK_STREAM)
        mine_tcp.bind(("127.0.0.1", 8096))
        mine_tcp.listen()
        run = box.start([PY, "prog.py"], label="p", files_from=src)
        # the grader's own: not the program's, however long one waits for them
        assert run.wait_listening("udp", 8095, 1.0) is None
        assert run.wait_listening("tcp", 8096, 0.5) is None
        got = run.wait_listening_any("udp", 8095, 10, grace=0.2)
        assert got is not None, run.crash_summary()
        assert run.wait_output("\n", 10), run.crash_summary()
        assert got.port != 8095 and str(got.port) == run.out.strip(), (got, run.out)
        ports = {(lst.proto, lst.port) for lst in box.listeners()}
        assert ("udp", 8095) not in ports and ("tcp", 8096) not in ports and ("udp", got.port) in ports, ports
    finally:
        box.close()


ECHO_ON_8090 = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[1:] == ["share"]:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 8090))
print("bound", flush=True)
while True:
    data, addr = s.recvfrom(2048)
    s.sendto(data, addr)
"""


@contextlib.contextmanager
def stranger_on_8090(box, *args: str):
    """The echo server above, started in ``box``'s network but by none of its runs; killed at the end."""
    import subprocess

    prefix, fds = box.net.prefix()
    proc = subprocess.Popen([*prefix, PY, "-c", ECHO_ON_8090, *args], pass_fds=fds, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "bound\n", proc.stderr.read()
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("share", [False, True], ids=["taken", "shared"])
def test_a_socket_no_run_of_the_check_holds_is_never_the_programs_listener(runner, tmp_path, share):
    """The socket table is the network's: an echo server on the sheet's port started outside the check (what
    a process left by an earlier check would be, in the Docker runner's network that checks share) is not
    taken for the program's listener, and is named as the grader's fault.  Taken: the program cannot bind and
    ends; shared (both set SO_REUSEADDR): the program's own socket is its listener, the other is still named."""
    flag = ["share"] if share else []
    src = program(tmp_path, ECHO_ON_8090)
    box = runner.open_sandbox(Evidence())
    try:
        with stranger_on_8090(box, *flag) as stranger:
            run = box.start([PY, "prog.py", *flag], label="p", files_from=src)
            got = run.wait_listening("udp", 8090, 10)
            if share:
                assert got is not None and run.own([got]) == [got], run.crash_summary()
            else:
                assert got is None and run.wait_exit(10) not in (None, 0), (got, run.crash_summary())
                assert "Address already in use" in run.err
            named = box.strangers("udp", 8090)
            assert len(named) == 1 and named[0].port == 8090 and (got is None or named[0].inode != got.inode), named
            assert box.blame_strangers("udp", 8090)
            faults = [e["text"] for e in box.evidence.events if e["kind"] == "note" and "held by" in e.get("text", "")]
            assert len(faults) == 1 and f"pid {stranger.pid}:" in faults[0] and "UDP 0.0.0.0:8090" in faults[0], faults
    finally:
        box.close()
    box = runner.open_sandbox(Evidence())
    try:  # the stranger gone: nobody is named
        assert box.strangers("udp", 8090) == []
    finally:
        box.close()


def test_a_process_left_in_a_shared_network_is_ended_and_blamed_on_the_grader(runner, tmp_path):
    """The Docker runner's checks share their pair's network: whatever still runs there once a check's runs
    have ended (a run that escaped its sandbox's end) would hold the next check's ports and answer its peers.
    Closing the sandbox ends it, and the check is the grader's fault, naming it.  The local runner's next
    check has a network of its own, which never meets it."""
    box = runner.open_sandbox(Evidence())
    try:
        with stranger_on_8090(box) as stranger:
            assert len(box.strangers("udp", 8090)) == 1
            box.close()
            if runner.name == "docker":
                assert stranger.wait(10) == -9
                faults = [e["text"] for e in box.evidence.events if e["kind"] == "note" and "still in the check" in
                          e.get("text", "")]
                assert len(faults) == 1 and f"pid {stranger.pid}: " in faults[0] \
                    and "import socket, sys" in faults[0], faults
            nxt = runner.open_sandbox(Evidence())  # on Docker the same pair, as the next check would have it
            try:
                assert nxt.strangers("udp", 8090) == [] and nxt.listeners() == []
                nxt.close()
                assert not [e for e in nxt.evidence.events if e["kind"] == "note" and "still in the check" in
                            e.get("text", "")], nxt.evidence.events
            finally:
                nxt.close()
    finally:
        box.close()


@pytest.mark.parametrize("source", ["sock_diag", "proc"])
def test_socket_table_lists_unconnected_udp_and_listening_tcp_sockets(source, monkeypatch):
    """The socket table the grader polls (netlink sock_diag, or /proc/net/udp where the kernel has no udp_diag):
    bound unconnected UDP sockets of both families and listening TCP ones, each with its inode; connected UDP
    sockets and unlistened TCP ones are not listeners."""
    from netgrade.sandbox import netns
    if source == "proc":
        def unavailable(protocol, states):
            if protocol == socket.IPPROTO_UDP:
                raise netns.DiagUnavailable(2, "no udp_diag")
            return real(protocol, states)
        real = netns._diag_dump
        monkeypatch.setattr(netns, "_diag_dump", unavailable)
    ns = netns.NetNS()
    try:
        with ns.entered():
            u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u4.bind(("127.0.0.1", 0))
            u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            u6.bind(("::1", 0))
            connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            connected.connect(u4.getsockname())
            t = socket.socket()
            t.bind(("127.0.0.1", 0))
            t.listen()
            unlistened = socket.socket()
            unlistened.bind(("127.0.0.1", 0))
        got = {(lst.proto, lst.address, lst.port, lst.inode) for lst in ns.listeners()}
        want = {("udp", "127.0.0.1", u4.getsockname()[1], os.fstat(u4.fileno()).st_ino),
                ("udp", "::1", u6.getsockname()[1], os.fstat(u6.fileno()).st_ino),
                ("tcp", "127.0.0.1", t.getsockname()[1], os.fstat(t.fileno()).st_ino)}
        assert got == want, (got, want)
        for s in (u4, u6, connected, t, unlistened):
            s.close()
    finally:
        ns.close()


@pytest.mark.parametrize("runner", ["local"], indirect=True)  # the test's busy processes share this machine's CPU
def test_busy_loop_is_told_from_a_start_up_that_waits_for_a_cpu(runner, tmp_path):
    """A program that wants a CPU all along but shares it (here: with four busy processes of the test on one
    CPU, as a start-up on a loaded machine) and ends after 0.25 CPU-s is not called a busy loop; one that
    spins is, within seconds."""
    import subprocess

    from netgrade.expect import SPIN_CPU_S, busy_loop_share
    cpu = min(os.sched_getaffinity(0))
    work = 0.25
    assert work < SPIN_CPU_S
    starved = program(tmp_path, f"""
        import os, time
        os.sched_setaffinity(0, {{{cpu}}})
        print("starting", flush=True)
        t = time.process_time()
        while time.process_time() - t < {work}:  # a long start-up's work, done at a fifth of a CPU
            pass
        print("done", flush=True)
    """)
    spins = program(tmp_path, """
        print("spinning", flush=True)
        while True:
            pass
    """)
    hog = [PY, "-c", f"import os, time\nos.sched_setaffinity(0, {{{cpu}}})\nt = time.monotonic()\n"
                     "while time.monotonic() - t < 60: pass"]  # bounded, whatever happens here
    hogs = [subprocess.Popen(hog, start_new_session=True) for _ in range(4)]  # a session each: with autogroups,
    # a session shares the CPU as one
    box = runner.open_sandbox(Evidence())
    try:
        run = box.start([PY, "prog.py"], label="starved", files_from=starved)
        assert run.wait_output("starting", 20), run.crash_summary()
        t0 = time.monotonic()
        while run.running and time.monotonic() - t0 < 15:  # asked again and again, as long as it runs
            share = busy_loop_share(run, 0.3, 0.5, within_s=10)
            assert not run.running or share <= 0.5, (
                f"called busy ({share:.0%}) after {time.monotonic() - t0:.1f} s, {run.cpu_seconds():.2f} CPU-s used")
        assert run.wait_exit(1) == 0 and "done" in run.out, run.crash_summary()
        print(f"the shared start-up took {time.monotonic() - t0:.1f} s")
        for h in hogs:
            h.kill()
        run = box.start([PY, "prog.py"], label="spins", files_from=spins)
        assert run.wait_output("spinning", 20), run.crash_summary()
        t0 = time.monotonic()
        share = busy_loop_share(run, 0.3, 0.5, within_s=20)
        took = time.monotonic() - t0
        assert run.running and share > 0.5, f"a busy loop read {share:.0%}"
        assert took < 10, f"a busy loop took {took:.1f} s to be called one"
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        box.close()
