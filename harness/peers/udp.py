"""A UDP peer inside a check's sandbox that logs every datagram as evidence."""
from __future__ import annotations

import errno
import select
import time

from ..failure import fail  # the check API is above the peers
from ..i18n import N_, Msg
from ..sandbox import Sandbox

#: who a peer waits for, unless told
THE_PROGRAM = Msg(N_("the program"))


def fmt_addr(addr: tuple) -> str:
    return f"{addr[0]}:{addr[1]}"


def bind_peer(sandbox: Sandbox, host: str, port: int):
    """The peer's socket; a check failure when the program has taken every port."""
    try:
        return sandbox.udp_socket(host, port)
    except OSError as exc:
        if port != 0 or exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
            raise
        held, size = sandbox.udp_ports_held()
        if held < size - 64:  # not the program's doing: a grader problem
            raise
        fail(N_("the program holds every UDP port of its sandbox ({held} of the {size} ephemeral ports bound); the "
                "grader's peer could not bind"),
             held=held, size=size)


class UdpPeer:
    """One UDP socket of the grader, bound inside the sandbox.

    A peer on an ephemeral port gets one of the sockets the sandbox bound
    before any program started; what reached it before this peer used it is
    logged and dropped.
    """

    def __init__(self, sandbox: Sandbox, port: int = 0, host: str | None = None, label: str = "peer") -> None:
        self.sandbox = sandbox
        self.label = label
        self.sock = bind_peer(sandbox, host or sandbox.peer_host, port)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.name = f"{label} {host or '127.0.0.1'}:{self.port}"
        self.ignored: list[tuple[bytes, tuple[str, int]]] = []  # datagrams from others than the expected source
        #: what reached the socket before this peer used it (not replies to anything)
        self.early = self.recv_quiet(0.0, note=Msg(N_("before the grader used this socket: not a reply")))
        if self.early:
            sandbox.evidence.note(Msg(N_("{label}: {count} datagram(s) had arrived before the grader sent anything"),
                                      {"label": label, "count": len(self.early)}))

    @property
    def addr(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        self.sock.sendto(data, to)
        self.sandbox.evidence.packet("sent", "udp", fmt_addr(self.addr), fmt_addr(to), data)

    def recv(self, timeout: float, expect_from: Msg | str = THE_PROGRAM,
             source: tuple[str, int] | None = None) -> tuple[bytes, tuple[str, int]] | None:
        """The next datagram, or None after ``timeout`` seconds (logged).

        ``source``: only a datagram from that address counts (a server's reply
        comes from the address and port the request went to); others are
        logged, kept in ``ignored`` and skipped.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.sandbox.evidence.add("timeout", who=self.label, waited_s=timeout,
                                          text=Msg(N_("no datagram from {sender} within {seconds} s"),
                                                   {"sender": expect_from, "seconds": f"{timeout:g}"}))
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionRefusedError:
                # an ICMP port unreachable for something we sent earlier
                self.sandbox.evidence.add("icmp", who=self.label, text=Msg(N_("port unreachable (nothing listening)")))
                continue
            if source is not None and addr != source:
                self.sandbox.evidence.packet("received", "udp", fmt_addr(addr), fmt_addr(self.addr), data,
                                             note=Msg(N_("not from {sender} at {address}: not a reply"),
                                                      {"sender": expect_from, "address": fmt_addr(source)}))
                self.ignored.append((data, addr))
                continue
            self.sandbox.evidence.packet("received", "udp", fmt_addr(addr), fmt_addr(self.addr), data)
            return data, addr

    def recv_quiet(self, window: float, note: Msg | str = "") -> list[tuple[bytes, tuple[str, int]]]:
        """Every datagram queued now or arriving within ``window`` seconds (``note``: logged with each)."""
        got = []
        deadline = time.monotonic() + window
        while True:  # polls at least once, even with window 0 (drain what is queued)
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                break
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError, ConnectionRefusedError):
                continue
            self.sandbox.evidence.packet("received", "udp", fmt_addr(addr), fmt_addr(self.addr), data,
                                         **({"note": note} if note else {}))
            got.append((data, addr))
        return got
