# fails: tcp-sink-server/prints-all
# edge: tcp-sink-server/prints-all
# decodes UTF-8 as GBK: the Chinese text is garbled
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
    decoder = codecs.getincrementaldecoder("gbk")(errors="ignore")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
