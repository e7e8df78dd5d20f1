# fails: tcp-chat-server/client-disconnects
# ignores recv() == b'': a busy loop once the client closed
"""tcp-chat-server (sheet: TCP / tcp-chat-server; notes 000 §3.1.1).

Listens on TCP port 6666, serves one client turn by turn: receive a message and
print it (`接收到的消息：<msg>`), then read a reply from stdin and send it.  The
conversation ends when the client sends `see you`, or when the operator types
`see you` (which is sent first); then both sockets are closed and it exits 0.
A client that just disconnects (recv returns b'') or resets the connection ends
the conversation too, with a message: never a traceback, never a busy loop.
"""
import argparse
import socket
import sys

PACK_OPTIONS = {"bye": "--bye"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP chat server (one client, turn by turn).")
    parser.add_argument("--port", type=int, default=6666)
    parser.add_argument("--bye", default="see you", help="the text that ends the conversation")
    args = parser.parse_args(argv)

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a restart right after a conversation must not fail on the old TIME_WAIT
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("", args.port))
    server.listen(1)
    conn, addr = server.accept()
    print(f"已建立连接... ({addr[0]}:{addr[1]})")
    with server, conn:
        while True:
            try:
                data = conn.recv(4096)
            except ConnectionResetError:
                data = b""
            if not data:
                continue
            info = data.decode("utf-8", errors="replace")
            print("接收到的消息：" + info)
            if info == args.bye:
                return 0
            try:
                reply = input("输入发送的内容：")
            except EOFError:  # nothing more to say: end the conversation politely
                print()
                return 0
            try:
                conn.sendall(reply.encode("utf-8"))
            except (BrokenPipeError, ConnectionResetError):
                print("客户端已断开连接 (the client closed the connection)")
                return 0
            if reply == args.bye:
                return 0


if __name__ == "__main__":
    sys.exit(main())
