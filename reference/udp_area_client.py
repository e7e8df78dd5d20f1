"""udp-area-client (sheet: UDP / udp-area-client; notes 000 §3.2.2).

Reads a radius from stdin, sends it as typed to 127.0.0.1:8080, prints the
server's reply and exits 0.  A reply that never comes ends the client with a
message after a timeout rather than a hang.
"""
import argparse
import socket
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description="UDP circle-area client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args(argv)

    try:
        radius = input("请输入圆的半径：")
    except EOFError:
        print("没有输入 (no input)", file=sys.stderr)
        return 1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(args.timeout)
        sock.sendto(radius.encode("utf-8"), (args.host, args.port))
        try:
            reply, _ = sock.recvfrom(65535)
        except (socket.timeout, ConnectionRefusedError):
            print("没有收到服务器的回复 (no reply from the server)")
            return 1
    print(reply.decode("utf-8", errors="replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
