"""The sandbox of one check: a private network and the program runs in it.

A check gets a fresh :class:`Sandbox`.  Its network is a new network namespace
(or, where none can be made, the host's loopback).  The check's peer sockets
and every program it starts live there, so the sheet's fixed ports never clash
between checks running at the same time.  ``close()`` ends every run, records
what each printed, and removes the runs' work folders.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import socket
import struct
from pathlib import Path

from ..evidence import Evidence
from ..i18n import N_, Msg
from ..pack import Limits
from . import userns
from .cgroups import RunCgroup
from .launch import WORK, Isolation, build_argv, child_env
from .netns import HostNet, Listener, NetNS, SandboxError
from .process import ProgramRun, exiting, socket_holder, wait_ended
from .uids import next_uid
from .workfolder import WorkFolder

__all__ = ["Sandbox", "SandboxError", "Listener", "ProgramRun", "new_network", "add_lab_address"]

SIOCSIFADDR, SIOCSIFNETMASK = 0x8916, 0x891C
#: UDP sockets on ephemeral ports bound for the grader's peers when a sandbox
#: opens, before any program runs (more than any check makes: TFTP's client,
#: its stranger, a second client...)
RESERVED_UDP = 8
#: the note a sandbox leaves in the evidence when its programs held (nearly) every ephemeral UDP port
PORTS_TAKEN = "the program holds every UDP port of its sandbox"
#: the note a sandbox leaves when its own side failed during the check (a run's setup, its containers):
#: whatever the check then saw, the plugin makes its verdict the grader's ``error``
GRADER_FAULT = "the sandbox failed on the grader's side"
#: a run with a cgroup of its own is the kernel's first choice when the container's memory runs out
OOM_FIRST = ["choom", "-n", "1000", "--"]
_cg_names = itertools.count()


def add_lab_address(net: NetNS, index: int, address: str) -> None:
    """Add ``address``/32 to loopback inside ``net`` (an alias, as ifconfig does)."""
    def ifreq(name: str, addr: str) -> bytes:
        sin = struct.pack("HH4s8s", socket.AF_INET, 0, socket.inet_aton(addr), b"")
        return struct.pack("16s16s", name.encode(), sin)
    with net.entered(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        name = f"lo:{index}"
        fcntl.ioctl(s, SIOCSIFADDR, ifreq(name, address))
        fcntl.ioctl(s, SIOCSIFNETMASK, ifreq(name, "255.255.255.255"))
    net.addresses.append(address)


def new_network(use_namespaces: bool, lab_addresses: tuple[str, ...] = ()) -> NetNS | HostNet:
    if not use_namespaces:
        return HostNet()
    net = NetNS()
    try:
        for i, addr in enumerate(lab_addresses, start=1):
            add_lab_address(net, i, addr)
    except OSError as exc:
        net.close()
        raise SandboxError(f"cannot add lab addresses inside the sandbox: {exc}") from None
    return net


class Sandbox:
    def __init__(self, net: NetNS | HostNet, evidence: Evidence, workbase: str, limits: Limits,
                 run_cgroups: dict[str, str] | None = None) -> None:
        self.net = net
        self.evidence = evidence
        self.workbase = workbase
        self.limits = limits
        self.runs: list[ProgramRun] = []
        self._workdirs: list[WorkFolder] = []
        self._sockets: list[socket.socket] = []
        #: inodes of every socket the grader opened here (its peers, controls, reserved ports): never a
        #: program's listener, even on a port a program might have used
        self._own_inodes: set[int] = set()
        self._closed = False
        self._reserved_udp: list[socket.socket] = []
        # where each untrusted run gets a cgroup of its own (the container mode: sandbox/cgroups.py)
        self._cg_parent = run_cgroups
        self._cg_runs: list[RunCgroup] = []
        self._cg_pending: RunCgroup | None = None
        self._reserve_udp()

    @property
    def isolated(self) -> bool:
        return self.net.kind == "netns"

    @property
    def peer_host(self) -> str:
        """Where the grader's peers bind: every address inside a private namespace."""
        return "0.0.0.0" if self.isolated else "127.0.0.1"

    # ------------------------------------------------------------ programs
    def _new_workdir(self, files_from: str | Path | None, files: dict[str, bytes] | None, uid: int | None,
                     trusted: bool, detached: bool) -> WorkFolder:
        work = None
        try:
            work = WorkFolder.make(self._workbase(trusted), self.limits.disk_mb, uid, detached)
            self._workdirs.append(work)
            if files_from is not None:
                work.copy_in(files_from, uid)
            for name, data in (files or {}).items():
                work.add(name, data, uid)
        except OSError as exc:  # the grader's side (its disk, its memory), not the program's
            where = f"a tmpfs of {self.limits.disk_mb} MiB" if work and work.mount_fd else self._workbase(trusted)
            raise SandboxError(f"cannot prepare the run's work folder under {where}: {exc.strerror or exc}") from None
        return work

    def start(self, command: list[str], *, label: str, files_from: str | Path | None = None,
              files: dict[str, bytes] | None = None, cwd: str = ".",
              redirect: tuple[str, int] | None = None, trusted: bool = False,
              host_view: bool = False) -> ProgramRun:
        """Start ``command`` in this sandbox with a private copy of ``files_from``.

        ``redirect=(proto, port)``: the program's traffic for other ports goes
        to ``port`` (a client that uses a port of its own still reaches the
        peer); ``redirected_ports(run)`` tells which it used.  ``trusted``:
        one of our reference programs (a runner may start it elsewhere than
        the student's programs, as the Docker runner does).  Trusted programs,
        and ``host_view`` ones (an instructor's ``--run`` command), see the
        machine's folders; every other program runs in the confined view with
        the seccomp filter (see launch.py).
        """
        if self._closed:
            raise SandboxError("sandbox already closed")
        # A user id of its own needs root, and the mount namespace that lets it
        # reach the interpreter; without namespaces the program keeps ours.
        own_uid = os.geteuid() == 0 and self.isolated and not userns.single_uid()
        uid = next_uid() if own_uid else None
        confined = self.isolated and not (trusted or host_view)
        work = self._new_workdir(files_from, files, uid, trusted, detached=confined).at(cwd)
        table = None
        if redirect is not None and uid is not None and self.isolated:
            try:
                table = self.net.redirect_ports(uid, redirect[0], redirect[1])
            except SandboxError as exc:
                self.evidence.note(Msg(N_("ports are not redirected: {error}"), {"error": str(exc)}))
        status_r, status_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK) if self.isolated else (None, None)
        iso = Isolation(limits=self.limits, uid=uid, namespaces=self.isolated, confined=confined, status_fd=status_w)
        try:
            argv, fds, env, seen = self._launch(command, work, iso, trusted)
            run = ProgramRun(
                argv, label=label, command=command, env=env,
                cwd=None if self.isolated else seen, pass_fds=fds,
                evidence=self.evidence, output_cap=self.limits.output_kib * 1024,
                listeners=self.listeners, workdir=seen, new_session=True, status_fd=status_r,
            )
        except BaseException:
            if status_r is not None:
                os.close(status_r)
            raise
        finally:
            if status_w is not None:
                os.close(status_w)  # the launcher holds it now (the program never does)
        run.work = work
        run.redirect_table = table
        self.runs.append(run)  # before anything else can fail: close() must end it
        self._started(run)
        return run

    # where and how runs start: the Docker runner's sandbox overrides these
    def _workbase(self, trusted: bool) -> str:
        return self.workbase

    def _launch(self, command: list[str], work: WorkFolder, iso: Isolation,
                trusted: bool) -> tuple[list[str], tuple[int, ...], dict[str, str], str]:
        """(argv, fds to pass, environment, the working folder as the program sees it) that start
        ``command`` in ``work``; HOME is the work folder itself."""
        prefix, net_fds = self.net.prefix()
        self._cg_pending = None
        if self._cg_parent is not None and not trusted and iso.namespaces:
            self._cg_pending = RunCgroup(self._cg_parent, f"run-{os.getpid()}-{next(_cg_names)}", iso.limits)
            self._cg_runs.append(self._cg_pending)
        cg_fds = tuple(self._cg_pending.fds) if self._cg_pending else ()
        argv, fds = build_argv(command, work, iso, prefix, cgroup_fds=cg_fds)
        if cg_fds:  # beside the grader in one container: the kernel ends the runs first, should memory run out
            argv = [*OOM_FIRST, *argv]
        home = WORK if iso.confined else work.path
        seen = os.path.normpath(os.path.join(home, work.cwd))
        return argv, (*net_fds, *fds, *cg_fds), child_env(home, confined=iso.confined), seen

    def _started(self, run: ProgramRun) -> None:
        """Called once ``run`` has started (what was passed to it may be closed here)."""
        if self._cg_pending is not None:  # the run holds its cgroup now; it can tell why the run ended
            self._cg_pending.close_fds()
            run.limit_probe = self._cg_pending.probe
            self._cg_pending = None

    def _end_network(self) -> None:
        self.net.close()
        for cg in self._cg_runs:
            cg.remove()

    def redirected_ports(self, run: ProgramRun) -> list[int]:
        """Ports other than the sheet's that ``run`` sent to (they were redirected)."""
        table = getattr(run, "redirect_table", None)
        return self.net.redirected_ports(table) if table else []

    # ------------------------------------------------------------ network
    def socket(self, family: int = socket.AF_INET, type: int = socket.SOCK_DGRAM) -> socket.socket:
        s = self.net.socket(family, type)
        self._sockets.append(s)
        self._own_inodes.add(os.fstat(s.fileno()).st_ino)
        return s

    def _reserve_udp(self) -> None:
        """Bind the peers' ephemeral UDP sockets now, before any program starts.

        A program that binds every port of its sandbox cannot take these; they
        are bound without SO_REUSEADDR, so no program can share their ports.
        """
        for _ in range(RESERVED_UDP):
            s = self.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((self.peer_host, 0))
            self._reserved_udp.append(s)

    def udp_socket(self, host: str, port: int) -> socket.socket:
        """A UDP socket bound to ``(host, port)`` for a peer: a reserved one for an ephemeral port.

        Raises OSError when the port cannot be bound (see ``udp_ports_held``).
        """
        if port == 0 and host == self.peer_host and self._reserved_udp:
            return self._reserved_udp.pop(0)
        s = self.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if port != 0:  # a fixed port is shared with a program that also sets it (SO_REUSEADDR)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        if port != 0:  # shared with a stranger, the peer would not get all the program sends it
            self.blame_strangers("udp", port)
        return s

    def udp_ports_held(self) -> tuple[int, int]:
        """(bound UDP ports in the ephemeral range, size of that range) in this sandbox's network."""
        with self.net.entered(), open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            text = f.read()
        low, high = map(int, text.split())
        held = {lst.port for lst in self.net.listeners() if lst.proto == "udp" and low <= lst.port <= high}
        return len(held), high - low + 1

    def tcp_ports_exhausted(self) -> bool:
        """True when no ephemeral TCP port is free in this sandbox's network (sockets that are only bound
        appear in no socket table: a bind to port 0 is the one way to ask)."""
        probe = self.net.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind(("127.0.0.1", 0))
            return False
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL)
        finally:
            probe.close()

    def listeners(self) -> list[Listener]:
        """The socket table of this sandbox's network without the grader's own sockets (the peers', the
        control sockets beside a client, the reserved UDP ports): what the programs listen on."""
        return [lst for lst in self.net.listeners() if lst.inode not in self._own_inodes]

    def strangers(self, proto: str, port: int) -> list[Listener]:
        """Sockets on ``proto`` ``port`` that neither the grader nor any run of this check holds.

        Nothing of this check's making: a process an earlier check left in a network that is used again
        (the Docker runner's), or, on the host's loopback, something of the machine.  A socket closing as
        the table is read is not one: only those seen twice, unheld both times, are named.  Empty where a
        run's descriptors cannot be read (nobody can tell then).
        """
        def unheld() -> list[Listener]:
            left = [lst for lst in self.listeners() if lst.proto == proto and lst.port == port]
            for run in self.runs:
                if not left:
                    break
                mine = {lst.inode for lst in run.own(left)}
                left = [lst for lst in left if lst.inode not in mine]
            return left
        first = unheld()
        if not first:
            return []
        # a run's process that is ending still holds its sockets, and its table can no longer be read: let
        # those end before the second look
        ending = [pid for run in self.runs for pid in run.processes() if exiting(pid)]
        wait_ended(ending, 1.0)
        again = {lst.inode for lst in unheld()}
        return [lst for lst in first if lst.inode in again]

    def blame_strangers(self, proto: str, port: int) -> bool:
        """Record, as the grader's fault, every stranger on the sheet's ``proto`` ``port`` (see ``strangers``),
        naming the process that holds it; True if there was one."""
        found = self.strangers(proto, port)
        for lst in found:
            holder = socket_holder(lst.inode) if lst.inode else None
            self.grader_fault(Msg(N_("{listener}, the sheet's port, is held by {holder}, which is not the program"
                                     " under test nor the grader: it was taken before the check began"),
                                  {"listener": str(lst),
                                   "holder": holder or Msg(N_("a process the grader cannot see"))}))
        return bool(found)

    def enable_catch_all(self, why: str) -> None:
        """Redirect traffic for any address to the grader's peer (see NetNS.enable_catch_all)."""
        if not self.isolated:
            raise SandboxError("other addresses can only be redirected inside a private network namespace")
        if not self.net.catch_all:
            self.net.enable_catch_all()
            self.evidence.note(Msg(N_("catch-all on: {why}; traffic to any address reaches the grader's peer,"
                                      " inside this sandbox only"), {"why": why}))

    def make_local(self, address: str) -> None:
        """Add ``address`` to this sandbox's loopback (a server bound it)."""
        if address not in self.net.addresses and self.isolated:
            add_lab_address(self.net, len(self.net.addresses) + 10, address)
            self.evidence.note(Msg(N_("{address} added to the sandbox's loopback: a program bound it"),
                                   {"address": address}))

    # ------------------------------------------------------------ end
    def grader_fault(self, why: Msg | str) -> None:
        """Record that this sandbox failed on the grader's side during the check (see GRADER_FAULT)."""
        # its English text starts with GRADER_FAULT, which the plugin looks for
        text = Msg(N_("the sandbox failed on the grader's side: {why}"), {"why": why})
        if not self.evidence.has_note(text):
            self.evidence.note(text)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.isolated and any(r.returncode not in (None, 0) for r in self.runs):
            # a run that ended badly beside a program that took every port: our reference's crash is the
            # program's doing then (it could not get a port), which the plugin must know
            with contextlib.suppress(OSError, SandboxError):
                held, size = self.udp_ports_held()
                if held >= size - 64:
                    # its English text starts with PORTS_TAKEN, which the plugin looks for
                    self.evidence.note(Msg(N_("the program holds every UDP port of its sandbox: {held} of the "
                                              "{size} ephemeral UDP ports were bound"), {"held": held, "size": size}))
        for run in self.runs:
            waiting = run.waiting_for_input()  # looked at before the run is ended
            run.kill()
            report = run.report(waiting_for_input=waiting)
            failed = run.setup_failure()
            if failed:  # the launcher could not build the run (a server's check may not have waited for it)
                self.grader_fault(Msg(N_("the sandbox could not start {label}: {error}"),
                                      {"label": run.label, "error": failed}))
            ports = self.redirected_ports(run)
            if ports:
                report["redirected_ports"] = ports
                self.evidence.note(Msg(N_("{label} sent to port(s) {ports}: redirected to the grader's peer"),
                                       {"label": run.label, "ports": str(ports)}))
            self.evidence.processes.append(report)
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()
        self._end_network()
        for work in self._workdirs:
            work.close()
