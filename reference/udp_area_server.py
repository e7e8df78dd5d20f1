"""udp-area-server (sheet: UDP / udp-area-server; notes 000 §3.2.1).

Binds UDP port 8080; for every datagram holding a radius as text, replies
`圆的面积为：` followed by 3.14 * r * r, to the sender's address and port.
It serves requests forever, and answers text that is not a finite number
with an error message instead of crashing.
"""
import argparse
import math
import socket
import sys

PACK_OPTIONS = {"prefix": "--prefix", "pi": "--pi"}


def area_reply(payload: bytes, prefix: str, pi: float) -> str:
    text = payload.decode("utf-8", errors="replace").strip()
    try:
        r = float(text)
    except ValueError:
        return f"错误：半径必须是数字，收到 {text!r}"
    if not math.isfinite(r):
        return f"错误：半径必须是有限的数字，收到 {text!r}"
    return f"{prefix}{pi * r * r}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="UDP circle-area server.")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--prefix", default="圆的面积为：")
    parser.add_argument("--pi", type=float, default=3.14)
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("", args.port))
    print(f"UDP area server on port {args.port}")
    try:
        while True:
            data, addr = sock.recvfrom(65535)
            reply = area_reply(data, args.prefix, args.pi)
            sock.sendto(reply.encode("utf-8"), addr)
            print(f"{addr[0]}:{addr[1]} r={data.decode('utf-8', errors='replace')!r} -> {reply}")
    except KeyboardInterrupt:
        return 0
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
