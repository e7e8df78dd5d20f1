"""udp-send (sheet: UDP / udp-send; notes 001 §2.2, §3.1.1; 004 §4).

Reads one line from stdin and sends it as ONE datagram of its UTF-8 bytes to
127.0.0.1:8080, then confirms and exits 0.  UDP keeps message boundaries, so
one sendto() is one datagram: no length header, no newline.
"""
import argparse
import socket
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description="Send one line as one UDP datagram.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)

    try:
        line = input("请输入数据：")
    except EOFError:
        print("没有输入，未发送 (no input, nothing sent)", file=sys.stderr)
        return 1

    # A datagram socket needs no connection: sendto() names the destination.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(line.encode("utf-8"), (args.host, args.port))
    print("发送完成")
    return 0


if __name__ == "__main__":
    sys.exit(main())
