"""tcp-thanks-client (sheet: TCP / tcp-thanks-client; notes 001 §3.3.2, 003 §2).

Connects to 127.0.0.1:8088, reads one line from stdin, sends it whole
(sendall), prints the reply, closes and exits 0.
"""
import argparse
import socket
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP client of the thanks server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args(argv)

    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect((args.host, args.port))
    except OSError as exc:
        print(f"无法连接服务器 {args.host}:{args.port} (cannot reach the server: {exc.strerror or exc})")
        client.close()
        return 1
    with client:
        try:
            line = input("请输入：")
        except EOFError:
            line = ""
        client.sendall(line.encode("utf-8"))
        try:
            reply = client.recv(4096)
        except ConnectionResetError:
            reply = b""
        if not reply:
            print("服务器没有回复就关闭了连接 (the server closed without a reply)")
            return 0
        print("客户端接收到服务器的数据为：", reply.decode("utf-8", errors="replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
