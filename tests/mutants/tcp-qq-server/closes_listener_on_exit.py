# fails: tcp-qq-server/second-client
# stops serving after the first client's exit
"""tcp-qq-server (sheet: TCP / tcp-qq-server; notes 001 §3.3.3).

Listens on TCP port 8008 and serves clients one after another, forever.  With
each client: receive a message and print it (`客户端：<msg>`); on `exit` print
a notice, close this client and wait for the next; otherwise read a reply from
stdin and send it.  A client that leaves without `exit` (recv returns b'', or
the connection is reset) is handled the same way: close it, serve the next.
"""
import argparse
import socket
import sys

PACK_OPTIONS = {"bye": "--bye"}


def serve(conn, bye):
    """One conversation.  False when stdin ended (nothing more can be answered)."""
    while True:
        try:
            data = conn.recv(4096)
        except ConnectionResetError:
            data = b""
        if not data:  # without this test, a closed client makes recv return b'' forever: a busy loop
            print("客户端已断开连接 (the client left without 'exit')")
            return True
        msg = data.decode("utf-8", errors="replace")
        print("客户端：", msg)
        if msg == bye:
            print("客户端已经退出！")
            return False
        while True:
            try:
                reply = input("send:")
            except EOFError:
                return False
            if reply:  # an empty reply would send nothing and leave the client waiting
                break
        try:
            conn.sendall(reply.encode("utf-8"))
        except (BrokenPipeError, ConnectionResetError):
            print("客户端已断开连接 (the client left)")
            return True


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP 'QQ' server: clients one after another.")
    parser.add_argument("--port", type=int, default=8008)
    parser.add_argument("--bye", default="exit", help="the text a client sends to leave")
    args = parser.parse_args(argv)

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("", args.port))
    server.listen(1)
    with server:
        while True:
            conn, addr = server.accept()
            print(f"新的客户端 {addr[0]}:{addr[1]}")
            with conn:
                if not serve(conn, args.bye):
                    return 0


if __name__ == "__main__":
    sys.exit(main())
