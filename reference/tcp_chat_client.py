"""tcp-chat-client (sheet: TCP / tcp-chat-client; notes 000 §3.1.2).

Connects to 127.0.0.1:6666; loop: read a line, send it; after `see you` close
and exit 0; otherwise receive the reply and print it (`接收到的内容：<reply>`).
When the server cannot be reached, or closes the connection, it says so and
exits (no traceback).  An empty line is not sent: sending b'' sends nothing,
and waiting for a reply to nothing would hang.
"""
import argparse
import socket
import sys

PACK_OPTIONS = {"bye": "--bye"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP chat client (turn by turn).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6666)
    parser.add_argument("--bye", default="see you", help="the text that ends the conversation")
    args = parser.parse_args(argv)

    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect((args.host, args.port))
    except OSError as exc:
        print(f"无法连接服务器 {args.host}:{args.port} (cannot reach the server: {exc.strerror or exc})")
        client.close()
        return 1
    print("已连接...")
    with client:
        while True:
            try:
                line = input("输入发送的内容：")
            except EOFError:
                print()
                return 0
            if not line:
                continue
            try:
                client.sendall(line.encode("utf-8"))
                if line == args.bye:
                    return 0
                data = client.recv(4096)
            except (BrokenPipeError, ConnectionResetError):
                data = b""
            if not data:
                print("服务器已关闭连接 (the server closed the connection)")
                return 0
            print("接收到的内容：" + data.decode("utf-8", errors="replace"))


if __name__ == "__main__":
    sys.exit(main())
