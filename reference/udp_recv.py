"""udp-recv (sheet: UDP / udp-recv; notes 001 §3.1.2).

Binds UDP port 8090 on every interface, receives one datagram (up to 1024
bytes), prints who sent it and its text, and exits 0.
"""
import argparse
import socket
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description="Receive and print one UDP datagram.")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        # '' binds every local address: 127.0.0.1, the host's name, a lab address.
        sock.bind(("", args.port))
        data, addr = sock.recvfrom(1024)
    # Bytes that are not valid UTF-8 are shown as U+FFFD instead of crashing.
    print(f"来自 {addr[0]}:{addr[1]} 的数据：")
    print(data.decode("utf-8", errors="replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
