"""A UDP peer inside a check's sandbox that logs every datagram as evidence."""
from __future__ import annotations

import select
import socket
import time

from ..sandbox import Sandbox


def fmt_addr(addr: tuple) -> str:
    return f"{addr[0]}:{addr[1]}"


class UdpPeer:
    """One UDP socket of the grader, bound inside the sandbox."""

    def __init__(self, sandbox: Sandbox, port: int = 0, host: str | None = None, label: str = "peer") -> None:
        self.sandbox = sandbox
        self.label = label
        self.sock = sandbox.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host or sandbox.peer_host, port))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.name = f"{label} {host or '127.0.0.1'}:{self.port}"

    @property
    def addr(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        self.sock.sendto(data, to)
        self.sandbox.evidence.packet("sent", "udp", fmt_addr(self.addr), fmt_addr(to), data)

    def recv(self, timeout: float, expect_from: str = "the program") -> tuple[bytes, tuple[str, int]] | None:
        """The next datagram, or None after ``timeout`` seconds (logged)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.sandbox.evidence.add("timeout", who=self.label, waited_s=timeout,
                                          text=f"no datagram from {expect_from} within {timeout:g} s")
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
                self.sandbox.evidence.add("icmp", who=self.label, text="port unreachable (nothing listening)")
                continue
            self.sandbox.evidence.packet("received", "udp", fmt_addr(addr), fmt_addr(self.addr), data)
            return data, addr

    def recv_quiet(self, window: float) -> list[tuple[bytes, tuple[str, int]]]:
        """Every datagram queued now or arriving within ``window`` seconds."""
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
            self.sandbox.evidence.packet("received", "udp", fmt_addr(addr), fmt_addr(self.addr), data)
            got.append((data, addr))
        return got
