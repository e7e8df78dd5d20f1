"""framed-client (sheet: Sticky packets / framed-client; notes 001 §4).

Connects to 127.0.0.1:9000.  Each stdin line is sent as one framed message
(4-byte big-endian length + UTF-8 payload) and the one framed reply is printed
on its own line.  Ends at the end of input or on `exit` (which is not sent),
closes the connection and exits 0.

The length is that of the *encoded* bytes: "你好" is 2 characters but 6 UTF-8
bytes.  The reply may arrive in any number of pieces, so the client reads
until the decoder has a whole frame, and decodes only the complete payload
(a character may be split between two reads).
"""
import argparse
import socket
import sys

try:  # run by netgrade
    from netgrade.protocols.framing import FrameDecoder, encode
except ImportError:  # exported (`netgrade reference export`): the codec is written beside this program
    from framing_codec import FrameDecoder, encode

RECV_SIZE = 65536


def read_reply(sock: socket.socket, decoder: FrameDecoder, ready: list) -> bytes | None:
    """The next complete payload, or None if the server closed first.

    ``ready`` holds payloads already decoded but not yet used (a server that
    sent more than asked would otherwise lose them).
    """
    while not ready:
        data = sock.recv(RECV_SIZE)
        if not data:
            return None
        ready.extend(decoder.feed(data))
    return ready.pop(0)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Length-prefixed client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)

    out = sys.stdout
    with socket.create_connection((args.host, args.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # header and body leave together anyway
        decoder, ready = FrameDecoder(), []
        for raw in sys.stdin.buffer:
            line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            if line == "exit":
                break
            sock.sendall(encode(line.encode("utf-8")))  # one write: header and payload together
            reply = read_reply(sock, decoder, ready)
            if reply is None:
                print("server closed the connection", file=sys.stderr)
                return 1
            out.write(reply.decode("utf-8", errors="replace") + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
