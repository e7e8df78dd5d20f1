"""tftp-server (sheet: TFTP / tftp-server; notes 001 §3.2; RFC 1350, RFC 1123 §4.2).

Binds UDP port 69 and serves the files of its working directory.  Every
request gets its own thread and its own new socket: the port of that socket
is the transfer ID (TID) of the server's side, so port 69 only ever answers
malformed requests, and any number of transfers can run at once.

Read requests (RRQ) send the file in DATA blocks of 512 bytes, numbered from
1, each one only after the ACK of the one before; the last block is shorter
than 512 bytes (empty when the size is a multiple of 512).  Write requests
(WRQ) are the mirror image.  Both modes, `octet` and `netascii`, are matched
case-insensitively.

Robustness (RFC 1350 §2, §4; RFC 1123 §4.2.3):
- a block that is not acknowledged within the timeout is sent again, a
  bounded number of times, then the transfer is abandoned;
- a duplicate or old ACK is ignored, never answered with the next block again
  (the "Sorcerer's Apprentice" bug);
- a packet from any other address or port than the transfer's client gets
  ERROR 5 and changes nothing;
- names are confined to the served directory: absolute paths, `..` and
  symbolic links that lead outside get ERROR 2; a missing file ERROR 1;
- a malformed request gets ERROR 4 and the server goes on.

The transfer itself (lock-step, retransmission, transfer IDs) is the
sans-IO machine of `tftp_transfer.py`: this program owns the sockets and
the clock and carries out what the machine asks for.

Options (RFC 2347/2348/2349): blksize, tsize and timeout are accepted and
confirmed with an OACK; unknown options are left out of it.  Block numbers
wrap from 65535 to 0, as most servers do, so files of any size can be sent.
"""
import argparse
import os
import select
import socket
import sys
import tempfile
import threading
import time

try:  # run by netgrade
    from netgrade.protocols import tftp, tftp_transfer as transfer
except ImportError:  # exported (`netgrade reference export`): the codec and the machine are written beside it
    import tftp_codec as tftp
    import tftp_transfer as transfer

MAX_DATAGRAM = 65536


class Abort(Exception):
    """The transfer ends: the peer sent ERROR, timed out, or broke the protocol."""


class Transfer:
    """One transfer on its own socket (its port is the server's TID)."""

    def __init__(self, root, request, client, timeout, retries):
        self.root = root
        self.request = request
        self.client = client
        self.timeout = timeout
        self.retries = retries
        self.blksize = tftp.BLOCK_SIZE
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("", 0))  # a new, free port: the transfer ID
        # one poll object for the whole transfer: select() would rebuild its sets for every block
        self.poller = select.poll()
        self.poller.register(self.sock, select.POLLIN)

    # ------------------------------------------------------------ sending
    def send(self, packet):
        self.sock.sendto(packet, self.client)

    def fail(self, code, message):
        self.send(tftp.error(code, message))
        raise Abort(f"ERROR {code} {message}")

    def receive(self, deadline):
        """The next datagram (bytes, address) before ``deadline``, or None."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.poller.poll(left * 1000):  # milliseconds
                return None
            try:
                return self.sock.recvfrom(MAX_DATAGRAM)
            except (ConnectionRefusedError, BlockingIOError, InterruptedError):
                continue

    def drive(self, machine, deliver=None):
        """Carry out what ``machine`` asks for until it is done (returns its Done) or fails (Abort)."""
        actions = machine.start()
        deadline = time.monotonic()
        while True:
            for action in actions:
                if isinstance(action, transfer.Send):
                    self.sock.sendto(action.packet, action.addr)
                elif isinstance(action, transfer.SetTimer):
                    deadline = time.monotonic() + action.seconds
                elif isinstance(action, transfer.Deliver):
                    deliver(action.data)
                elif isinstance(action, transfer.Fail):
                    raise Abort(action.reason)
                elif isinstance(action, transfer.Done):
                    return action
            got = self.receive(deadline)
            actions = machine.timeout() if got is None else machine.packet_received(*got)

    # ------------------------------------------------------------ files
    def resolve(self):
        """The path of the requested file, confined to the served directory."""
        name = self.request.filename
        if os.path.isabs(name) or name.startswith("\\"):
            self.fail(2, "Access violation: absolute paths are not served")
        path = os.path.realpath(os.path.join(self.root, name))
        # realpath resolves `..` and links; what is left must still be under root
        if os.path.commonpath([self.root, path]) != self.root or path == self.root:
            self.fail(2, "Access violation: outside the served directory")
        return path

    def negotiate(self, size):
        """The OACK options for the request's options (empty: no OACK)."""
        accepted = {}
        opts = self.request.options
        if "blksize" in opts:
            try:
                wanted = int(opts["blksize"])
            except ValueError:
                wanted = 0
            if wanted >= tftp.MIN_BLKSIZE:
                self.blksize = min(wanted, tftp.MAX_BLKSIZE)
                accepted["blksize"] = str(self.blksize)
        if "timeout" in opts:
            try:
                seconds = int(opts["timeout"])
            except ValueError:
                seconds = 0
            if tftp.MIN_TIMEOUT <= seconds <= tftp.MAX_TIMEOUT:
                self.timeout = seconds
                accepted["timeout"] = str(seconds)
        if "tsize" in opts:
            if size is not None:
                accepted["tsize"] = str(size)  # RRQ: the real size
            elif opts["tsize"].isdigit():
                accepted["tsize"] = opts["tsize"]  # WRQ: echo the announced size
        return accepted

    # ------------------------------------------------------------ RRQ
    def read(self):
        path = self.resolve()
        netascii = self.request.mode.lower() == "netascii"
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            self.fail(1, "File not found")
        except (IsADirectoryError, PermissionError, OSError) as exc:
            self.fail(2, f"Access violation: {exc.strerror or exc}")
        with f:
            if netascii:  # converted up front: its size and blocks depend on the conversion
                content = tftp.to_netascii(f.read())
                size = len(content)
            else:
                size = os.fstat(f.fileno()).st_size
            options = self.negotiate(size)  # may change the block size
            if netascii:
                chunks = (content[i:i + self.blksize] for i in range(0, size + 1, self.blksize))
            else:
                chunks = iter(lambda: f.read(self.blksize), None)
            # with options the OACK goes first and the client answers it with ACK 0
            sender = transfer.Sender(self.client, chunks, timeout=self.timeout, retries=self.retries,
                                     blksize=self.blksize, oack=options)
            return self.drive(sender).blocks

    # ------------------------------------------------------------ WRQ
    def write(self):
        path = self.resolve()
        if os.path.exists(path):
            self.fail(6, "File already exists")
        if not os.path.isdir(os.path.dirname(path)):
            self.fail(2, "Access violation: no such folder")
        netascii = self.request.mode.lower() == "netascii"
        decoder = tftp.NetasciiDecoder() if netascii else None
        options = self.negotiate(None)
        receiver = transfer.Receiver(self.client, tftp.oack(options) if options else tftp.ack(0),
                                     timeout=self.timeout, retries=self.retries, blksize=self.blksize)
        # written under a temporary name and renamed at the end: no half file is ever served
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=os.path.dirname(path))
        out = os.fdopen(fd, "wb")

        def store(chunk):
            out.write(decoder.feed(chunk) if decoder else chunk)
            if receiver.state == transfer.DONE:  # the last block: the file is in place before its ACK goes out
                if decoder:
                    out.write(decoder.flush())
                out.close()
                os.replace(tmp, path)

        try:
            done = self.drive(receiver, store)
        finally:
            out.close()
            if os.path.exists(tmp):  # not renamed: the upload failed
                os.unlink(tmp)
        self.dally(receiver)
        return done.blocks

    def dally(self, receiver):
        """After the last ACK, answer a repeated last DATA for a while (RFC 1350 §6): the machine knows how."""
        deadline = time.monotonic() + self.timeout
        while True:
            got = self.receive(deadline)
            if got is None:
                return
            for action in receiver.packet_received(*got):
                if isinstance(action, transfer.Send):
                    self.sock.sendto(action.packet, action.addr)

    # ------------------------------------------------------------ run
    def run(self):
        who = f"{self.client[0]}:{self.client[1]}"
        kind = self.request.name
        try:
            if self.request.mode.lower() not in ("octet", "netascii"):
                self.fail(4, f"unsupported mode {self.request.mode!r} (octet or netascii)")
            n = self.read() if self.request.opcode == tftp.RRQ else self.write()
            print(f"{kind} {self.request.filename!r} from {who}: done, {n} blocks", flush=True)
        except Abort as why:
            print(f"{kind} {self.request.filename!r} from {who}: stopped: {why}", flush=True)
        except OSError as exc:
            print(f"{kind} {self.request.filename!r} from {who}: stopped: {exc}", flush=True)
            try:
                self.send(tftp.error(0, str(exc)))
            except OSError:
                pass
        finally:
            self.sock.close()


def serve(sock, root, timeout, retries):
    while True:
        try:
            raw, addr = sock.recvfrom(MAX_DATAGRAM)
        except (ConnectionRefusedError, InterruptedError):
            continue
        try:
            packet = tftp.decode(raw)
        except tftp.TftpDecodeError as exc:
            sock.sendto(tftp.error(4, f"malformed request: {exc}"), addr)
            continue
        if isinstance(packet, tftp.Request):
            transfer = Transfer(root, packet, addr, timeout, retries)
            threading.Thread(target=transfer.run, daemon=True).start()
        elif not isinstance(packet, tftp.Error):  # never answer an ERROR (RFC 1350 §7)
            sock.sendto(tftp.error(4, f"expected RRQ or WRQ on this port, got {tftp.describe(packet)}"), addr)


def main(argv=None):
    parser = argparse.ArgumentParser(description="TFTP server for the files of a directory.")
    parser.add_argument("--port", type=int, default=69)
    parser.add_argument("--root", default=".", help="the directory to serve (default: the working directory)")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds before a block is sent again")
    parser.add_argument("--retries", type=int, default=5, help="times a block is sent again before giving up")
    args = parser.parse_args(argv)

    root = os.path.realpath(args.root)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("", args.port))
    print(f"TFTP server on UDP port {args.port}, serving {root}", flush=True)
    try:
        serve(sock, root, args.timeout, args.retries)
    except KeyboardInterrupt:
        return 0
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
