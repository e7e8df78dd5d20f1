# fails: tcp-thanks-server/prints-message
# does not print the message
"""tcp-thanks-server (sheet: TCP / tcp-thanks-server; notes 001 §3.3.1, 003 §3, §7).

Listens on TCP port 8088, accepts one client, receives one message, prints it,
replies `Thank you!`, closes both sockets and exits 0.  The server closes
first, so the old connection's TIME_WAIT stays on the server's side; with
SO_REUSEADDR the server can be started again at once all the same.
"""
import argparse
import socket
import sys

PACK_OPTIONS = {"reply": "--reply"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP server that says thank you.")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--reply", default="Thank you!", help="the text sent back")
    args = parser.parse_args(argv)

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # 003 §7
    server.bind(("", args.port))
    server.listen(5)
    conn, addr = server.accept()
    with server, conn:
        try:
            data = conn.recv(4096)
        except ConnectionResetError:
            data = b""
        if not data:
            print(f"{addr[0]}:{addr[1]} 没有发送数据就断开了 (the client sent nothing)")
            return 0
        try:
            conn.sendall(args.reply.encode("utf-8"))
        except (BrokenPipeError, ConnectionResetError):
            print("客户端已断开 (the client left before the reply)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
