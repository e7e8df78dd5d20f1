"""A TCP peer inside a check's sandbox that logs every segment and close as evidence.

Two ways in:

- ``TcpPeer.connect(sandbox, addr, timeout)`` plays a client of a server under test;
- ``TcpListener(sandbox, port)`` then ``.accept(timeout)`` plays a server for a
  client under test.  Create the listener BEFORE starting the client, so the
  client can never find the port closed because the grader was slow.

Both give a :class:`TcpConn`.  Every call that waits takes a timeout and never
waits longer; nothing sleeps.  Reads are buffered: ``recv`` returns what is
buffered or the next chunk, ``recv_until`` / ``recv_exactly`` gather bytes
across segments (TCP is a byte stream: one ``send`` of the program may arrive
in pieces, two may arrive together).

How the connection ended is recorded, because the sheet cares:

- ``"fin"``: the program closed in order (``recv`` returned ``b''``);
- ``"rst"``: it was reset (``ECONNRESET``), e.g. a process killed with unread
  data, or ``SO_LINGER`` 0;
- ``conn.first_closer`` says who closed first: ``"program"`` when its FIN/RST
  reached us before we closed or shut down our side, ``"peer"`` otherwise.

Evidence: ``connect`` / ``accept`` / ``sent`` / ``received`` / ``fin`` / ``rst`` /
``shutdown`` / ``close`` / ``abort`` / ``timeout`` events, each with both
addresses.  :func:`tcp_states` reads the sandbox's socket table (e.g. to
confirm a TIME_WAIT exists).
"""
from __future__ import annotations

import errno
import select
import socket
import struct
import time
from typing import Callable, Union

from ..i18n import N_, Msg
from ..sandbox import Sandbox

Predicate = Union[str, bytes, Callable[[bytes], bool]]

RECV_SIZE = 65536


class PeerError(OSError):
    """The peer could not do what was asked (connect refused, nobody connected...).

    ``str(err)`` is a sentence fit for a check's failure message (in English); ``err.message`` is it as a
    message, which a failure's parameter renders in the report's language.
    """

    def __init__(self, code: int, why: Msg | str) -> None:
        super().__init__(code, str(why))
        self.message = Msg(N_("[Errno {errno}] {why}"), {"errno": code, "why": why})


def fmt_addr(addr: tuple) -> str:
    return f"{addr[0]}:{addr[1]}"


def _as_predicate(want: Predicate) -> Callable[[bytes], bool]:
    if callable(want):
        return want
    needle = want.encode("utf-8") if isinstance(want, str) else want
    return lambda buf: needle in buf


#: how the errors of a connection's end read, by errno (their system text is English)
SOCKET_ERRORS = {
    errno.ECONNRESET: N_("connection reset by peer (ECONNRESET)"),
    errno.EPIPE: N_("broken pipe (EPIPE)"),
    errno.ETIMEDOUT: N_("connection timed out (ETIMEDOUT)"),
    errno.ENOTCONN: N_("the socket is not connected (ENOTCONN)"),
}


def socket_error(exc: OSError) -> Msg | str:
    """A socket error of the connection as a message (its system text when it is none of SOCKET_ERRORS)."""
    known = SOCKET_ERRORS.get(exc.errno)
    return Msg(known) if known else str(exc.strerror or exc)


class TcpConn:
    """One established TCP connection of the grader (either side)."""

    def __init__(self, sandbox: Sandbox, sock: socket.socket, label: str, remote: tuple | None = None) -> None:
        self.sandbox = sandbox
        self.sock = sock
        self.label = label
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # already reset by the other side: reading will tell
        self.local = fmt_addr(sock.getsockname())
        try:
            self.remote = fmt_addr(sock.getpeername())
        except OSError:  # the connection was reset before we looked
            self.remote = fmt_addr(remote) if remote else "?"
        self.pending = bytearray()        # received, not yet handed out
        self.received = bytearray()       # everything ever received (for messages)
        self.sent = bytearray()           # everything ever sent
        self.ended: str | None = None     # "fin" | "rst" once the program's side ended
        self.ended_at: float | None = None
        self.we_closed_at: float | None = None  # our shutdown / close / abort
        self.closed = False

    @property
    def evidence(self):
        return self.sandbox.evidence

    # ------------------------------------------------------------ state
    @property
    def first_closer(self) -> str | None:
        """"program" or "peer" (the grader): whose close came first; None if neither closed."""
        if self.ended_at is None and self.we_closed_at is None:
            return None
        if self.ended_at is None:
            return "peer"
        if self.we_closed_at is None:
            return "program"
        return "program" if self.ended_at <= self.we_closed_at else "peer"

    def mark_end(self, how: str, detail: Msg | str = "") -> None:
        """Record (once) how the connection ended: "fin" (orderly) or "rst" (reset)."""
        if self.ended is None:
            self.ended = how
            self.ended_at = time.monotonic()
            text = {"fin": Msg(N_("the program closed the connection (FIN, orderly close)")),
                    "rst": Msg(N_("the connection was reset (RST, abortive close)"))}[how]
            if detail:
                text = Msg(N_("{event}: {detail}"), {"event": text, "detail": detail})
            self.evidence.add(how, who=self.label, src=self.remote, dst=self.local, text=text)

    # ------------------------------------------------------------ write
    def send(self, data: bytes, timeout: float = 2.0) -> bool:
        """Send all of ``data``; False (logged) if the connection is gone or stays full."""
        self.evidence.packet("sent", "tcp", self.local, self.remote, data)
        self.sent += data
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [self.sock], [], left)[1]:
                    self.evidence.note(Msg(N_("{label}: the program did not read; {count} bytes still unsent after"
                                              " {seconds} s"),
                                           {"label": self.label, "count": len(view), "seconds": f"{timeout:g}"}))
                    return False
            except (ConnectionResetError, BrokenPipeError) as exc:
                self.mark_end("rst", Msg(N_("while sending ({error})"), {"error": socket_error(exc)}))
                return False
            except OSError as exc:
                self.evidence.note(Msg(N_("{label}: send failed: {error}"),
                                       {"label": self.label, "error": socket_error(exc)}))
                return False
        return True

    # ------------------------------------------------------------ read
    def read_some(self, deadline: float) -> bool:
        """Wait for one chunk until ``deadline``; True if something new happened."""
        if self.ended is not None or self.closed:
            return False
        while True:
            left = deadline - time.monotonic()
            if left < 0:
                return False
            ready, _, _ = select.select([self.sock], [], [], max(0.0, left))
            if not ready:
                if left <= 0:
                    return False
                continue
            try:
                data = self.sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                self.mark_end("rst")
                return True
            except OSError as exc:
                if exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT):
                    self.mark_end("rst", socket_error(exc))
                    return True
                raise
            if not data:
                self.mark_end("fin")
                return True
            self.evidence.packet("received", "tcp", self.remote, self.local, data)
            self.pending += data
            self.received += data
            return True

    def _timeout(self, waited: float, what: Msg) -> None:
        self.evidence.add("timeout", who=self.label, waited_s=waited,
                          text=Msg(N_("{what} within {seconds} s"), {"what": what, "seconds": f"{waited:g}"}))

    def recv(self, timeout: float) -> bytes | None:
        """Buffered bytes, or the next chunk; ``b''`` once the program's side ended; None on timeout."""
        if not self.pending:
            self.read_some(time.monotonic() + timeout)
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            return data
        if self.ended is not None:
            return b""
        self._timeout(timeout, Msg(N_("no data from the program")))
        return None

    def recv_until(self, want: Predicate, timeout: float) -> bytes | None:
        """All buffered bytes once ``want`` (a text, bytes, or a predicate on the buffer) holds.

        None if it does not hold by the deadline or the connection ends first;
        what did arrive stays in ``pending`` (and in ``received``) for messages.
        """
        pred = _as_predicate(want)
        deadline = time.monotonic() + timeout
        while not pred(bytes(self.pending)):
            if not self.read_some(deadline):
                if self.ended is None:
                    self._timeout(timeout, Msg(N_("{bytes} not received"), {"bytes": repr(want)}))
                return None
        data = bytes(self.pending)
        self.pending.clear()
        return data

    def recv_exactly(self, n: int, timeout: float) -> bytes | None:
        """Exactly ``n`` bytes (the rest stays buffered), or None at the deadline / end."""
        deadline = time.monotonic() + timeout
        while len(self.pending) < n:
            if not self.read_some(deadline):
                if self.ended is None:
                    self._timeout(timeout, Msg(N_("{count} bytes not received (had {had})"),
                                               {"count": n, "had": len(self.pending)}))
                return None
        data = bytes(self.pending[:n])
        del self.pending[:n]
        return data

    def quiet(self, window: float) -> bytes:
        """Whatever arrives within ``window`` seconds (b'' if nothing): "nothing more was sent"."""
        deadline = time.monotonic() + window
        while self.read_some(deadline):
            pass
        data = bytes(self.pending)
        self.pending.clear()
        return data

    def wait_close(self, timeout: float) -> str | None:
        """Read (keeping data in ``pending``) until the program's side ends: "fin", "rst", or None."""
        deadline = time.monotonic() + timeout
        while self.ended is None:
            if not self.read_some(deadline):
                if self.ended is None:
                    self._timeout(timeout, Msg(N_("the program did not close the connection")))
                break
        return self.ended

    # ------------------------------------------------------------ close
    def _we_close(self) -> None:
        if self.we_closed_at is None:
            self.we_closed_at = time.monotonic()

    def shutdown_write(self) -> None:
        """Half-close: send our FIN, keep reading."""
        self._we_close()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self.evidence.note(Msg(N_("{label}: shutdown failed: {error}"),
                                   {"label": self.label, "error": socket_error(exc)}))
            return
        self.evidence.add("shutdown", who=self.label, src=self.local, dst=self.remote,
                          text=Msg(N_("peer sent FIN (shutdown SHUT_WR), still reading")))

    def close(self) -> None:
        """Orderly close (FIN)."""
        if self.closed:
            return
        self._we_close()
        self.closed = True
        self.sock.close()
        self.evidence.add("close", who=self.label, src=self.local, dst=self.remote, text=Msg(N_("peer closed (FIN)")))

    def abort(self) -> None:
        """Abortive close: SO_LINGER 0 makes close() send RST."""
        if self.closed:
            return
        self._we_close()
        self.closed = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()
        self.evidence.add("abort", who=self.label, src=self.local, dst=self.remote, text=Msg(N_("peer reset (RST)")))


class TcpPeer:
    """Namespace of the client side: ``TcpPeer.connect(...)``."""

    @staticmethod
    def connect(sandbox: Sandbox, addr: tuple[str, int], timeout: float, label: str = "peer") -> TcpConn:
        """Connect to ``addr`` inside the sandbox; PeerError (with a sentence) on failure."""
        sock = sandbox.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(addr)
        except ConnectionRefusedError:
            sandbox.evidence.add("connect", who=label, dst=fmt_addr(addr), text=Msg(N_("refused (RST): nothing listens")))
            sock.close()
            raise PeerError(errno.ECONNREFUSED, Msg(N_("connecting to {addr} was refused: nothing listens there"),
                                                    {"addr": fmt_addr(addr)}))
        except ConnectionResetError:
            # the listener went away mid-handshake (a server crashing as we connect): the program's side
            sandbox.evidence.add("connect", who=label, dst=fmt_addr(addr), text=Msg(N_("reset (RST) while connecting")))
            sock.close()
            raise PeerError(errno.ECONNRESET, Msg(N_("connecting to {addr} was reset: the server's socket went away"
                                                     " while we connected"), {"addr": fmt_addr(addr)}))
        except (socket.timeout, TimeoutError):
            sandbox.evidence.add("connect", who=label, dst=fmt_addr(addr),
                                 text=Msg(N_("no answer within {seconds} s"), {"seconds": f"{timeout:g}"}))
            sock.close()
            raise PeerError(errno.ETIMEDOUT, Msg(N_("connecting to {addr}: no answer within {timeout:g} s"),
                                                 {"addr": fmt_addr(addr), "timeout": timeout}))
        except OSError as exc:
            sock.close()
            if exc.errno not in (errno.EADDRNOTAVAIL, errno.EADDRINUSE) or not sandbox.isolated \
                    or not sandbox.tcp_ports_exhausted():
                raise  # not the program's doing: a grader problem
            sandbox.evidence.add("connect", who=label, dst=fmt_addr(addr), text=Msg(N_("no local port left")))
            raise PeerError(exc.errno, Msg(N_("the program holds every TCP port of its sandbox (no ephemeral port"
                                              " is free); the grader could not connect to {addr}"),
                                           {"addr": fmt_addr(addr)}))
        conn = TcpConn(sandbox, sock, label, addr)
        sandbox.evidence.add("connect", who=label, src=conn.local, dst=conn.remote, text=Msg(N_("connected")))
        return conn


class TcpListener:
    """A listening socket of the grader, for a client under test."""

    def __init__(self, sandbox: Sandbox, port: int = 0, host: str | None = None, label: str = "peer",
                 backlog: int = 8) -> None:
        self.sandbox = sandbox
        self.label = label
        self.sock = sandbox.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host or sandbox.peer_host, port))
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        sandbox.evidence.add("listen", who=label, text=Msg(N_("peer listens on TCP {address}"),
                                                              {"address": f"{host or sandbox.peer_host}:{self.port}"}))

    @property
    def addr(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def accept(self, timeout: float) -> TcpConn | None:
        """The next connection, or None (logged) if none comes within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.sock], [], [], max(0.0, left))
            if ready:
                try:
                    sock, remote = self.sock.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                conn = TcpConn(self.sandbox, sock, self.label, remote)
                self.sandbox.evidence.add("accept", who=self.label, src=conn.remote, dst=conn.local,
                                          text=Msg(N_("connection accepted")))
                return conn
            if left <= 0:
                self.sandbox.evidence.add("timeout", who=self.label, waited_s=timeout,
                                          text=Msg(N_("no connection within {seconds} s"),
                                                   {"seconds": f"{timeout:g}"}))
                return None

    def close(self) -> None:
        self.sock.close()


# TCP states as /proc/net/tcp numbers them
TCP_STATE_NAMES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
    "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}


def tcp_states(sandbox: Sandbox, port: int | None = None) -> list[tuple[str, str, str]]:
    """(local, remote, state) of the sandbox's IPv4 TCP sockets, optionally only those on local ``port``."""
    out = []
    with sandbox.net.entered():
        path = "/proc/thread-self/net/tcp" if sandbox.isolated else "/proc/self/net/tcp"
        with open(path) as f:
            lines = f.read().splitlines()[1:]
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        (la, lp), (ra, rp) = fields[1].split(":"), fields[2].split(":")
        if port is not None and int(lp, 16) != port:
            continue
        local = f"{socket.inet_ntoa(bytes.fromhex(la)[::-1])}:{int(lp, 16)}"
        remote = f"{socket.inet_ntoa(bytes.fromhex(ra)[::-1])}:{int(rp, 16)}"
        out.append((local, remote, TCP_STATE_NAMES.get(fields[3], fields[3])))
    return out
