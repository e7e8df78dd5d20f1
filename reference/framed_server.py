"""framed-server (sheet: Sticky packets / framed-server; notes 001 §4, 000 §1.1.1).

Listens on TCP port 9000.  Every message is a 4-byte big-endian length and
that many bytes of UTF-8 payload; for every complete message received the
server sends back one message with the same payload.

TCP is a byte stream, so a recv() returns whatever has arrived: two messages
at once, half a header, or one byte.  The server never assumes one recv is one
message: it feeds every read into an incremental decoder that hands out a
payload only once all of its bytes are there (netgrade.protocols.framing).

Each client gets its own thread, so a slow or vanished client never blocks the
others.  A client that closes in the middle of a frame is dropped; a header
announcing an absurd length closes that connection; the server goes on.
"""
import argparse
import socket
import sys
import threading

try:  # run by netgrade
    from netgrade.protocols.framing import FrameDecoder, FrameTooLarge, encode
except ImportError:  # exported (`netgrade reference export`): the codec is written beside this program
    from framing_codec import FrameDecoder, FrameTooLarge, encode

RECV_SIZE = 65536


def serve_client(conn: socket.socket, addr) -> None:
    who = f"{addr[0]}:{addr[1]}"
    decoder = FrameDecoder()
    replies = 0
    try:
        while True:
            data = conn.recv(RECV_SIZE)
            if not data:  # orderly close (an empty read, never an empty message)
                break
            for payload in decoder.feed(data):
                conn.sendall(encode(payload))  # one framed reply per complete message
                replies += 1
        if decoder.mid_frame:
            print(f"{who} closed mid-frame; dropped {len(decoder.pending)} bytes", flush=True)
    except FrameTooLarge as exc:
        print(f"{who}: {exc}; closing that connection", flush=True)
    except OSError as exc:  # reset by the peer, broken pipe: drop this client only
        print(f"{who}: connection error: {exc}", flush=True)
    finally:
        conn.close()
        print(f"{who} gone after {replies} replies", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Length-prefixed echo server.")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
    server.bind(("", args.port))
    server.listen(16)
    print(f"framed server on TCP port {args.port}", flush=True)
    try:
        while True:
            conn, addr = server.accept()
            threading.Thread(target=serve_client, args=(conn, addr), daemon=True).start()
    except KeyboardInterrupt:
        return 0
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
