"""Private network namespaces, and the socket table seen inside one.

A :class:`NetNS` is a fresh network namespace with only a loopback interface
(up).  It is created by a short-lived thread that calls ``unshare(CLONE_NEWNET)``
and keeps a file descriptor to the namespace, so no holder process is needed.
The grader's own sockets are created inside it by switching the calling
thread in and out (``with ns.entered(): sock = socket.socket(...)``): a socket
stays in the namespace it was created in.  Programs are started in it with
``nsenter --net=/proc/self/fd/N`` (see ``launch.py``).

:class:`HostNet` is the fallback where namespaces cannot be made: the host's
loopback, one program at a time, and no lab addresses.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import ipaddress
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
from dataclasses import dataclass, field

from . import nftables

CLONE_NEWNET = 0x40000000
SIOCSIFFLAGS = 0x8914
IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x8, 0x40

_libc = ctypes.CDLL(None, use_errno=True)


def _nft_missing() -> bool:
    """Neither libnftables nor the `nft` command is here (both come with Debian's nftables package)."""
    return nftables.missing() is not None and shutil.which("nft") is None


class SandboxError(Exception):
    """The sandbox itself failed (not the program under test)."""


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)}")


@dataclass(frozen=True)
class Listener:
    """One row of the socket table: a bound UDP socket or a listening TCP one."""

    proto: str  # "tcp" | "udp"
    address: str
    port: int
    #: the socket's inode (what ``fstat`` of its descriptor says): tells the grader's own sockets from a
    #: program's; not part of a listener's identity
    inode: int = field(default=0, compare=False)

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.proto.upper()} {host}:{self.port}"


def _decode_addr(hexaddr: str, v6: bool) -> str:
    raw = bytes.fromhex(hexaddr)
    if not v6:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # /proc prints IPv6 as four host-order 32-bit words
    words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
    return str(ipaddress.IPv6Address(b"".join(words)))


NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY = 4, 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
TCP_LISTEN = 10


TCP_CLOSE = 7  # what an unconnected UDP socket's state reads as


class DiagUnavailable(OSError):
    """The kernel cannot answer a sock_diag dump for this protocol (e.g. no ``udp_diag`` module)."""


def _diag_dump(protocol: int, states: int) -> list[tuple[int, str, int, int, int]]:
    """(state, address, local port, remote port, inode) of the calling thread's namespace's sockets of
    ``protocol`` whose state is in the ``states`` bit mask, via netlink sock_diag (both families)."""
    out = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        for family in (socket.AF_INET, socket.AF_INET6):
            req = struct.pack("=BBBBI48x", family, protocol, 0, 0, states)
            nl.send(struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + req)
            done = False
            while not done:
                data = nl.recv(1 << 20)
                off = 0
                while off + 16 <= len(data):
                    length, mtype = struct.unpack_from("=IH", data, off)
                    if mtype == NLMSG_ERROR:
                        err = -struct.unpack_from("=i", data, off + 16)[0]
                        if err:
                            raise DiagUnavailable(err, os.strerror(err))
                    if mtype in (NLMSG_DONE, NLMSG_ERROR) or length == 0:
                        done = True
                        break
                    # inet_diag_msg: family, state, timer, retrans, the 48-byte socket id (ports, addresses,
                    # interface, cookie), expires, rqueue, wqueue, uid, inode
                    fam, state = struct.unpack_from("=BB", data, off + 16)
                    sport, dport = struct.unpack_from("!HH", data, off + 20)
                    raw = data[off + 24: off + 24 + (4 if fam == socket.AF_INET else 16)]
                    inode = struct.unpack_from("=I", data, off + 16 + 68)[0]
                    out.append((state, socket.inet_ntop(fam, raw), sport, dport, inode))
                    off += (length + 3) & ~3
    return out


def tcp_listeners() -> list[Listener]:
    """Listening TCP sockets of the calling thread's namespace, via netlink sock_diag.

    Asking for the LISTEN state only, the kernel walks just its small table of
    listening sockets; reading ``/proc/net/tcp`` walks every TCP bucket of the
    machine (milliseconds each time), which polling for readiness cannot afford.
    """
    return [Listener("tcp", addr, sport, inode)
            for state, addr, sport, _, inode in _diag_dump(socket.IPPROTO_TCP, 1 << TCP_LISTEN) if state == TCP_LISTEN]


def udp_listeners(proc_net_dir: str) -> list[Listener]:
    """Bound, unconnected UDP sockets of the calling thread's namespace.

    Via sock_diag where the kernel has it (``udp_diag``): a program that binds
    every port fills the table with ~28,000 rows, and ``/proc/net/udp`` takes
    seconds to format them (measured: 19,000 sockets, 2.2-3.9 s a read under
    load, against 0.34 s by netlink); else from ``proc_net_dir``'s ``udp{,6}``.
    """
    try:
        return [Listener("udp", addr, sport, inode)
                for state, addr, sport, dport, inode in _diag_dump(socket.IPPROTO_UDP, 1 << TCP_CLOSE)
                if state == TCP_CLOSE and dport == 0]
    except DiagUnavailable:
        pass
    out: list[Listener] = []
    for name, v6 in (("udp", False), ("udp6", True)):
        try:
            with open(os.path.join(proc_net_dir, name)) as f:
                lines = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "07":
                continue
            addr, port = fields[1].split(":")
            # keep only unconnected sockets (no remote port)
            if int(fields[2].split(":")[1], 16) != 0:
                continue
            out.append(Listener("udp", _decode_addr(addr, v6), int(port, 16), int(fields[9])))
    return out


def unprivileged_port_start() -> int:
    """The first port a program without privileges may bind, in the calling thread's network namespace."""
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1024


def _open_low_ports() -> None:
    """Programs run without capabilities; let them bind the sheet's low ports
    (TFTP's 69) in the calling thread's namespace, and only there."""
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start", "w") as f:
        f.write("0")


class NetNS:
    """A private network namespace with loopback up."""

    kind = "netns"

    def __init__(self, adopt: str | None = None) -> None:
        """A new namespace; ``adopt``: the path of an existing one to use instead (a container's)."""
        self._host_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._lock = threading.RLock()
        self.addresses: list[str] = ["127.0.0.1"]
        self.fd: int = self._adopt(adopt) if adopt is not None else self._make()

    def _adopt(self, path: str) -> int:
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            os.close(self._host_fd)
            raise SandboxError(f"cannot open the network namespace {path}: {exc}") from None
        with self.entered():
            _open_low_ports()
        return self.fd

    def _make(self) -> int:
        box: dict = {}

        def make() -> None:
            try:
                _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
                box["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    ifr = struct.pack("16sH14s", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING, b"")
                    fcntl.ioctl(s, SIOCSIFFLAGS, ifr)
                _open_low_ports()
            except Exception as exc:  # reported in the caller's thread
                box["error"] = exc

        t = threading.Thread(target=make, name="netns-maker")
        t.start()
        t.join()
        if "error" in box:
            if "fd" in box:
                os.close(box["fd"])
            os.close(self._host_fd)
            raise SandboxError(f"cannot create a network namespace: {box['error']}")
        return box["fd"]

    @contextlib.contextmanager
    def entered(self):
        """Run the block with the calling thread inside the namespace."""
        with self._lock:
            _check(_libc.setns(self.fd, CLONE_NEWNET), "setns(sandbox)")
            try:
                yield
            finally:
                _check(_libc.setns(self._host_fd, CLONE_NEWNET), "setns(back to host)")

    def socket(self, family: int = socket.AF_INET, type: int = socket.SOCK_DGRAM) -> socket.socket:
        with self.entered():
            return socket.socket(family, type)

    def listeners(self) -> list[Listener]:
        with self.entered():
            return tcp_listeners() + udp_listeners("/proc/thread-self/net")

    def prefix(self) -> tuple[list[str], tuple[int, ...]]:
        """Command prefix that enters this namespace, and the fds to pass."""
        return ["nsenter", f"--net=/proc/self/fd/{self.fd}", "--"], (self.fd,)

    def run(self, argv: list[str], input: str | None = None) -> subprocess.CompletedProcess:
        """Run a grader tool (ip, nft) inside this namespace."""
        prefix, fds = self.prefix()
        return subprocess.run([*prefix, *argv], input=input, pass_fds=fds, capture_output=True, text=True)

    def nft(self, commands: str, json_output: bool = False) -> subprocess.CompletedProcess:
        """Apply nft ``commands`` (as `nft -f -` reads them; ``json_output``: `nft -j`) inside this namespace:
        through libnftables in this thread when it loads, else through the `nft` command."""
        if nftables.missing() is None:
            with self.entered():
                code, out, err = nftables.run(commands, json_output)
            return subprocess.CompletedProcess(["nft"], code, out, err)
        if json_output:  # a listing (one command of plain words): `nft -j -f -` prints no listing
            return self.run(["nft", "-j", *commands.split()])
        return self.run(["nft", "-f", "-"], commands)

    def sysctl(self, values: dict[str, str]) -> None:
        """Set ``/proc/sys/net/...`` values of this namespace (best effort)."""
        with self.entered():
            for name, value in values.items():
                with contextlib.suppress(OSError), open(f"/proc/sys/net/{name}", "w") as f:
                    f.write(value)

    catch_all = False
    nat_used = False  # nftables rules were added (catch-all or port redirects)

    def enable_catch_all(self) -> None:
        """Deliver traffic for ANY IPv4 address to loopback, inside this namespace only.

        For programs that hard-code a LAN or public address: a veth pair whose
        two ends both stay in this namespace carries a default route (so any
        address is routable), and an nftables rule in the namespace's output
        path rewrites every non-local destination to 127.0.0.1, where the
        grader's peer listens.  Connection tracking rewrites the replies back,
        so the program sees answers from the address it used.  Programs may
        also bind addresses that are not local (``ip_nonlocal_bind``); the
        grader makes such an address local once it sees it bound.  Nothing can
        leave: no interface of this namespace leads out of it.
        """
        if self.catch_all:
            return
        if _nft_missing():
            raise SandboxError("redirecting other addresses needs nft (Debian package nftables)")
        links = ("link add ng0 type veth peer name ng1\nlink set ng0 up\nlink set ng1 up\n"
                 "route add default dev ng0 src 127.0.0.1\n")
        self.nat_used = True
        proc = self.run(["ip", "-batch", "-"], links)
        if proc.returncode != 0:
            raise SandboxError(f"catch-all setup (ip): {proc.stderr.strip()}")
        proc = self.nft(_CATCH_ALL_RULES)
        if proc.returncode != 0:
            raise SandboxError(f"catch-all setup (nft): {proc.stderr.strip()}")
        self.sysctl({"ipv4/conf/all/route_localnet": "1", "ipv4/ip_nonlocal_bind": "1",
                     "ipv6/conf/ng0/disable_ipv6": "1", "ipv6/conf/ng1/disable_ipv6": "1"})
        self.catch_all = True

    def redirect_ports(self, uid: int, proto: str, port: int) -> str:
        """Send ``uid``'s ``proto`` traffic for other ports to ``port``.

        For client programs that use a port of their own: they still reach the
        grader's peer on the sheet's port, and the ports they really used are
        recorded (``redirected_ports``) for the check that reports them.  For
        UDP, ephemeral ports (32768 and up: a TFTP transfer's) are left alone;
        a TCP client only ever connects to its server, whatever port it chose.
        Returns the table's name.
        """
        if _nft_missing():
            raise SandboxError("redirecting ports needs nft (Debian package nftables)")
        table = f"netgrade_ports_{uid}"
        low = f"{proto} dport < 32768" if proto == "udp" else ""
        rules = (f"table ip {table} {{\n"
                 "  set seen { type inet_service; flags dynamic; size 64; }\n"
                 "  chain out { type nat hook output priority -110;\n"
                 f"    meta skuid {uid} {proto} dport != {port} {low} "
                 f"add @seen {{ {proto} dport }} dnat to 127.0.0.1:{port};\n  }}\n"
                 f"{_NAT_REPLY_CHAINS}}}\n")
        self.nat_used = True
        proc = self.nft(rules)
        if proc.returncode != 0:
            raise SandboxError(f"port redirect setup: {proc.stderr.strip()}")
        self.sysctl({"ipv4/conf/all/route_localnet": "1"})
        return table

    def redirected_ports(self, table: str) -> list[int]:
        """The ports a redirected program really sent to (see ``redirect_ports``)."""
        proc = self.nft(f"list set ip {table} seen", json_output=True)
        if proc.returncode != 0:
            return []
        for item in json.loads(proc.stdout).get("nftables", []):
            if "set" in item:
                return sorted(e for e in item["set"].get("elem", []) if isinstance(e, int))
        return []

    def reset(self, keep_addresses: int) -> None:
        """Undo what checks leave in a namespace that is used again (a container's).

        A fresh namespace per check needs none of this; a reused one must look
        fresh to the next check: no TCP sockets (TIME_WAIT included, which
        would keep a server without SO_REUSEADDR from binding), no NAT rules,
        no catch-all link, only the pack's addresses, default sysctls.
        """
        proc = self.run(["ss", "-K", "-t", "-a", "-n"])
        if proc.returncode != 0:
            raise SandboxError(f"cannot clear the sandbox's TCP sockets: {proc.stderr.strip()}")
        if self.catch_all:
            self.run(["ip", "link", "del", "ng0"])
            self.catch_all = False
        extra = self.addresses[keep_addresses:]
        if extra:
            self.run(["ip", "-batch", "-"], "".join(f"addr del {a}/32 dev lo\n" for a in extra))
            del self.addresses[keep_addresses:]
        if self.nat_used:
            self.nft("flush ruleset")
            self.nat_used = False
        self.sysctl({"ipv4/conf/all/route_localnet": "0", "ipv4/ip_nonlocal_bind": "0"})

    def close(self) -> None:
        for fd in (getattr(self, "fd", -1), getattr(self, "_host_fd", -1)):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.fd = self._host_fd = -1


class HostNet:
    """The host's own loopback: the fallback where namespaces are unavailable."""

    kind = "host"

    def __init__(self) -> None:
        self.addresses = ["127.0.0.1"]

    @contextlib.contextmanager
    def entered(self):
        yield

    def socket(self, family: int = socket.AF_INET, type: int = socket.SOCK_DGRAM) -> socket.socket:
        return socket.socket(family, type)

    def listeners(self) -> list[Listener]:
        return tcp_listeners() + udp_listeners("/proc/self/net")

    def prefix(self) -> tuple[list[str], tuple[int, ...]]:
        return [], ()

    def close(self) -> None:
        pass


# NAT chains on the reply path: with them, conntrack rewrites replies to a
# redirected packet back to the address and port the program used.
_NAT_REPLY_CHAINS = """  chain in { type nat hook input priority 100; }
  chain post { type nat hook postrouting priority 100; }
"""
_CATCH_ALL_RULES = ("table ip netgrade {\n"
                    "  chain out { type nat hook output priority -100; "
                    "ip daddr != 127.0.0.0/8 fib daddr type != local dnat to 127.0.0.1; }\n"
                    f"{_NAT_REPLY_CHAINS}}}\n")

_support: str | None = None


@functools.lru_cache(maxsize=1)
def hostname_address() -> str | None:
    """The IPv4 address ``socket.gethostname()`` resolves to here (the seeds bind and connect to it)."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return None


def namespace_support() -> str:
    """'netns' when this process can make the full sandbox (network namespaces and the
    compiled launcher), else the reason it cannot."""
    global _support
    if _support is None:
        from .launch import launcher_binary
        try:
            NetNS().close()
            _support = "netns"
        except SandboxError as exc:
            _support = str(exc)
        if _support == "netns" and launcher_binary() is None:
            _support = "the sandbox launcher cannot be built: no C compiler (Debian: apt-get install gcc)"
    return _support
