# fails: tcp-sink-server/exits-on-close
# waits for another client instead of exiting
"""tcp-sink-server (sheet: TCP / tcp-sink-server; notes 004 §5, §7).

Listens on TCP port 8888, accepts one client and prints everything it sends
(a long connection: many messages on one connection).  recv returning b'' is
the client's FIN: then it closes and exits 0.  Bytes are decoded with an
incremental decoder, so a UTF-8 character split across two segments prints
whole.
"""
import argparse
import codecs
import socket
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP sink server (long connection).")
    parser.add_argument("--port", type=int, default=8888)
    args = parser.parse_args(argv)

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("", args.port))
    server.listen(128)
    conn, addr = server.accept()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with server, conn:
        while True:
            try:
                data = conn.recv(4096)
            except ConnectionResetError:
                print("连接被重置 (the connection was reset)")
                break
            if not data:
                break
            print(f"{addr[0]}:{addr[1]} : {decoder.decode(data)}")
        rest = decoder.decode(b"", final=True)
        if rest:
            print(rest)
    print("客户端已关闭连接 (the client closed the connection)")
    server2 = socket.socket()
    server2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server2.bind(("", args.port))
    server2.listen(1)
    server2.accept()
    return 0


if __name__ == "__main__":
    sys.exit(main())
