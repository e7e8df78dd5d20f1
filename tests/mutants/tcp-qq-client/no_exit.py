# fails: tcp-qq-client/exits-after-exit
# after exit waits for a reply
"""tcp-qq-client (sheet: TCP / tcp-qq-client; notes 001 §3.3.3).

Connects to 127.0.0.1:8008; loop: read a line; an empty line is skipped (not
sent, and no reply awaited: the server would never answer nothing); send it;
after `exit` close and exit 0; otherwise receive the reply and print it
(`服务器：<reply>`).  If the server closes or cannot be reached, say so and exit.
"""
import argparse
import socket
import sys

PACK_OPTIONS = {"bye": "--bye"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP 'QQ' client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8008)
    parser.add_argument("--bye", default="exit", help="the text that ends the session")
    args = parser.parse_args(argv)

    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect((args.host, args.port))
    except OSError as exc:
        print(f"无法连接服务器 {args.host}:{args.port} (cannot reach the server: {exc.strerror or exc})")
        client.close()
        return 1
    with client:
        while True:
            try:
                line = input("send:")
            except EOFError:
                print()
                return 0
            if not line:
                continue
            try:
                client.sendall(line.encode("utf-8"))
                data = client.recv(4096)
            except (BrokenPipeError, ConnectionResetError):
                data = b""
            if not data:
                print("服务器已关闭连接 (the server closed the connection)")
                return 0
            print("服务器：", data.decode("utf-8", errors="replace"))


if __name__ == "__main__":
    sys.exit(main())
