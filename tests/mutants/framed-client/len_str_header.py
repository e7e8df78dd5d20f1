# fails: framed-client/header-length
# edge: framed-client/header-length
# The header counts characters (len(str)), not UTF-8 bytes: wrong for Chinese text.
import socket
import struct


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("server closed")
        buf += chunk
    return buf


sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect(("127.0.0.1", 9000))
while True:
    try:
        line = input()
    except EOFError:
        break
    if line == "exit":
        break
    sock.sendall(struct.pack("!I", len(line)) + line.encode("utf-8"))
    n = struct.unpack("!I", recv_exact(sock, 4))[0]
    print(recv_exact(sock, n).decode("utf-8"))
sock.close()
