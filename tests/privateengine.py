"""A Docker engine of a test's own, to stop under a grading run (never the shared one).

``PrivateEngine`` starts ``dockerd`` with its own socket, data root, exec
root, pid file, configuration file and containerd namespaces, no bridge and
no iptables rules.  dockerd then starts a containerd of its own, whose
socket, state and root are under those folders (``check_separate`` reads
its configuration to make sure), so stopping it touches nothing of the
engine everyone else uses.  The grading image is copied in from the shared
engine (``docker save`` streamed into ``docker load``).

``remove()`` leaves nothing: an engine that was killed is started once more
on the same folders (it then stops what its dead predecessor left running
and forgets it), every container is removed, the engine is stopped, any
process still naming its folders (a shim) is killed by its pid, every mount
under its folders is detached, and the folders are deleted.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil

READY_S = 60.0
DATA_MB = 2048  # the grading image (~260 MB) and a few containers' layers


class EngineUnavailable(Exception):
    """A private engine cannot be started on this machine; the reason, in one line."""


class PrivateEngine:
    def __init__(self, data_parent: Path) -> None:
        self.name = f"ngtest-{uuid.uuid4().hex[:8]}"
        self.run_dir = Path("/run") / self.name        # socket, exec root, pid file, log
        self.data = Path(data_parent) / self.name       # images and containers: a tmpfs of its own
        self.exec_root = self.run_dir / "exec"
        self.host = f"unix://{self.run_dir}/docker.sock"
        self.proc: subprocess.Popen | None = None

    # ------------------------------------------------------------ life
    def argv(self) -> list[str]:
        return ["dockerd", "--host", self.host, "--data-root", str(self.data), "--exec-root", str(self.exec_root),
                "--pidfile", str(self.run_dir / "docker.pid"), "--config-file", str(self.run_dir / "daemon.json"),
                "--containerd-namespace", self.name, "--containerd-plugins-namespace", f"{self.name}-plugins",
                "--bridge=none", "--iptables=false", "--ip6tables=false"]

    def start(self) -> None:
        """Start dockerd and wait until it answers (EngineUnavailable if it does not come up)."""
        if shutil.which("dockerd") is None:
            raise EngineUnavailable("dockerd is not installed (Debian: apt-get install docker.io)")
        if os.geteuid() != 0:
            raise EngineUnavailable("starting a Docker engine needs root")
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        if not os.path.ismount(self.data):
            # in memory: the image's thousands of files are gone with one umount (unlinking them from
            # a slow disk took 15-20 s), and overlay2 works on tmpfs
            self.data.mkdir(mode=0o700, parents=True, exist_ok=True)
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DATA_MB}m,mode=0700", self.name,
                                   str(self.data)], capture_output=True, text=True)
            if done.returncode != 0:
                raise EngineUnavailable(f"cannot mount a tmpfs for the engine's data: {done.stderr.strip()}")
        (self.run_dir / "daemon.json").write_text("{}\n")  # not the machine's /etc/docker/daemon.json
        log = open(self.run_dir / "dockerd.log", "ab")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + READY_S
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.kill()
                raise EngineUnavailable(f"a private dockerd did not come up: {tail}")
            time.sleep(0.1)  # dockerd gives no readiness signal but its socket answering
        self.check_separate()

    def answers(self) -> bool:
        try:
            c = self.client(timeout=5)
        except Exception:  # noqa: BLE001 - not up yet
            return False
        try:
            return bool(c.ping())
        except Exception:  # noqa: BLE001
            return False
        finally:
            c.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def client(self, timeout: float = 60):
        import docker
        return docker.DockerClient(base_url=self.host, timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        """Send ``sig`` to dockerd and wait until it, and the containerd it started, have exited.

        (A containerd that is still dying when the next dockerd starts on these
        folders is taken for a running one, and that dockerd never comes up.)
        """
        assert self.proc is not None
        kids: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            kids = psutil.Process(self.proc.pid).children()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=timeout)
        _, alive = psutil.wait_procs(kids, timeout=timeout)
        assert not alive, f"still running after dockerd ended: {alive}"

    def kill(self) -> None:
        if self.running():
            self.stop(signal.SIGKILL, timeout=30)

    def log_tail(self, n: int = 3) -> str:
        with contextlib.suppress(OSError):
            lines = (self.run_dir / "dockerd.log").read_text(errors="replace").strip().splitlines()
            return " | ".join(line[-200:] for line in lines[-n:])
        return "(no log)"

    # ------------------------------------------------------------ checks
    def check_separate(self) -> None:
        """The containerd this engine started keeps its socket, state and root in this engine's folders."""
        conf = (self.exec_root / "containerd" / "containerd.toml").read_text()
        values = {}
        section = ""
        for line in conf.splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line
            elif "=" in line:
                key, _, value = line.partition("=")
                values[(section, key.strip())] = value.strip().strip('"')
        mine = (str(self.data), str(self.run_dir))
        for key in (("", "root"), ("", "state"), ("[grpc]", "address")):
            assert values.get(key, "").startswith(mine), f"containerd's {key} is {values.get(key)!r}, not ours"

    def processes(self) -> list[psutil.Process]:
        """Processes that name this engine's folders or namespace (dockerd, containerd, shims)."""
        found = []
        for p in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error, TypeError):
                cmd = " ".join(p.info["cmdline"] or [])
                if str(self.run_dir) in cmd or f"-namespace {self.name}" in cmd:
                    found.append(p)
        return found

    def mounts(self) -> list[str]:
        """Mount points under this engine's folders (overlays, its netns files, the data root itself)."""
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].replace("\\040", " ")
                if point.startswith((str(self.run_dir), str(self.data))):
                    out.append(point)
        return out

    # ------------------------------------------------------------ image
    def load_image(self, shared, tag: str) -> None:
        """Copy image ``tag`` from the ``shared`` engine into this one (streamed, no file)."""
        mine = self.client(timeout=300)
        try:
            mine.images.load(shared.images.get(tag).save(chunk_size=1 << 20, named=tag))
            mine.images.get(tag)
        finally:
            mine.close()

    # ------------------------------------------------------------ the end
    def remove(self) -> None:
        """Stop this engine and remove everything it made (see the module's text)."""
        with contextlib.suppress(EngineUnavailable, OSError, AssertionError):
            if not self.running():
                self.start()  # a killed engine's leftovers are cleaned by the next one on its folders
        if self.running():
            with contextlib.suppress(Exception):
                c = self.client(timeout=60)
                for container in c.containers.list(all=True):
                    with contextlib.suppress(Exception):
                        container.remove(force=True)
                c.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop(signal.SIGTERM, timeout=60)
            self.kill()
        for p in self.processes():  # started by this engine: its shims, if any survived
            with contextlib.suppress(psutil.Error):
                p.kill()
        self._remove_containers_by_hand()
        for point in sorted(self.mounts(), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


    def container_ids(self) -> list[str]:
        with contextlib.suppress(OSError):
            return os.listdir(self.data / "containers")
        return []

    def _remove_containers_by_hand(self) -> None:
        """Last resort, when no engine could be started to clean up: the processes of this engine's
        containers (found by their cgroup, which names the container) and their cgroup folders."""
        ids = self.container_ids()
        if not ids:
            return
        victims = []
        for p in psutil.process_iter():
            with contextlib.suppress(OSError, psutil.Error):
                with open(f"/proc/{p.pid}/cgroup") as f:
                    text = f.read()
                if any(cid in text for cid in ids):
                    p.kill()
                    victims.append(p)
        psutil.wait_procs(victims, timeout=10)
        for cid in ids:
            for d in Path("/sys/fs/cgroup").glob(f"*/docker/{cid}"):
                with contextlib.suppress(OSError):
                    d.rmdir()


def cgroup_folders(container_id: str) -> list[str]:
    """The cgroup folders of a container that are still there (the engine removes them with it)."""
    return [str(d) for d in Path("/sys/fs/cgroup").glob(f"*/docker/{container_id}")]


def pair_files(tmpdir: Path) -> list[dict]:
    """The container pairs a grading run (with TMPDIR=tmpdir) made, as its pairs folder announces them."""
    out = []
    for path in sorted(tmpdir.glob("**/pairs/*.json")):
        with contextlib.suppress(OSError, ValueError):
            out.append(json.loads(path.read_text("utf-8")))
    return out


SO_NETNS_COOKIE = 71  # Linux 5.14: a number of its own per network namespace, never reused
CLONE_NEWNET = 0x40000000


def netns_cookie(path: str) -> int | None:
    """The cookie of the network namespace at ``path`` (an ns link or an fd link), or None.

    Namespace inode numbers are reused as soon as a namespace is freed (on a
    busy machine, within seconds), so a namespace is told apart by its cookie:
    read from a socket made in it, by a thread that enters it and then ends.
    """
    import ctypes
    import socket
    import struct
    import threading
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    box: dict[str, int] = {}

    def probe() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) == 0:  # this thread only, and it ends here
            with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                box["cookie"] = struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]

    try:
        t = threading.Thread(target=probe)
        t.start()
        t.join()
    finally:
        os.close(fd)
    return box.get("cookie")


def namespace_holders(inode: int, cookie: int) -> list[str]:
    """Every process and mount on the machine that holds the network namespace (``inode``, ``cookie``)."""
    link = f"net:[{inode}]"
    held = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(OSError, psutil.Error):
            what = " ".join(p.info["cmdline"] or [])[:120]
            path = f"/proc/{p.pid}/ns/net"
            if os.readlink(path) == link and netns_cookie(path) == cookie:
                held.append(f"process {p.pid} is in it: {what}")
                continue
            for fd in os.listdir(f"/proc/{p.pid}/fd"):
                path = f"/proc/{p.pid}/fd/{fd}"
                with contextlib.suppress(OSError):
                    if os.readlink(path) == link and netns_cookie(path) == cookie:
                        held.append(f"process {p.pid} holds it open: {what}")
                        break
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4]
            if link in line and netns_cookie(point) == cookie:
                held.append(f"mounted at {point}")
    return held
