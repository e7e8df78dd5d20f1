"""udp-echo-client (sheet: UDP / udp-echo-client; notes 001 §3.1.3).

Sends each stdin line as one datagram to 127.0.0.1:8090 and prints the reply.
After sending `exit` and printing its echo, exits 0; also exits 0 at the end
of input.  One socket (one source port) serves the whole session.  A reply
that does not come within a timeout is reported and the client goes on, so a
lost datagram never hangs it.
"""
import argparse
import socket
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description="UDP echo client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for each reply")
    args = parser.parse_args(argv)

    server = (args.host, args.port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(args.timeout)
        while True:
            try:
                line = input("请输入数据：")
            except EOFError:
                print()
                return 0
            sock.sendto(line.encode("utf-8"), server)
            try:
                reply, _ = sock.recvfrom(65535)
                print("返回的数据是:", reply.decode("utf-8", errors="replace"))
            except socket.timeout:
                print(f"{args.timeout:g} 秒内没有收到回复 (no reply within {args.timeout:g} s)")
            except ConnectionRefusedError:
                print("服务器不可达 (server unreachable)")
            if line == "exit":
                return 0


if __name__ == "__main__":
    sys.exit(main())
