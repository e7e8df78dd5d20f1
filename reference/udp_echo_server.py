"""udp-echo-server (sheet: UDP / udp-echo-server; notes 001 §3.1.3).

Binds UDP port 8090 and loops forever: every datagram goes back unchanged to
the address and port it came from.  One recvfrom() is exactly one datagram, so
boundaries are kept; the payload is never decoded on the reply path, so empty
or non-UTF-8 datagrams are echoed like any other.
"""
import argparse
import socket
import sys

MAX_DATAGRAM = 65535  # large enough that no datagram is truncated


def main(argv=None):
    parser = argparse.ArgumentParser(description="UDP echo server.")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("", args.port))
    print(f"UDP echo server on port {args.port}")
    try:
        while True:
            data, addr = sock.recvfrom(MAX_DATAGRAM)
            sock.sendto(data, addr)  # reply to the sender's own address and port
            shown = data.decode("utf-8", errors="replace")
            print(f"{addr[0]}:{addr[1]} -> {shown!r}")
    except KeyboardInterrupt:
        return 0
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
