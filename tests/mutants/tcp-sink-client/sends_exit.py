# fails: tcp-sink-client/exit-not-sent
# sends 'exit' before testing it
"""tcp-sink-client (sheet: TCP / tcp-sink-client; notes 004 §5).

Connects to 127.0.0.1:8888 and sends each stdin line (sendall, UTF-8) until
`exit`, which is not sent; then closes in order (FIN) and exits 0.  The end of
input ends it the same way.
"""
import argparse
import socket
import sys

PACK_OPTIONS = {"bye": "--bye"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="TCP sink client (long connection).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--bye", default="exit", help="the line that ends the session (not sent)")
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
                line = input("please enter the sent data: ")
            except EOFError:
                break
            try:
                client.sendall(line.encode("utf-8"))
                if line == args.bye:
                    break
            except (BrokenPipeError, ConnectionResetError):
                print("服务器已关闭连接 (the server closed the connection)")
                return 0
    # leaving the with-block closes the socket: an orderly FIN
    return 0


if __name__ == "__main__":
    sys.exit(main())
