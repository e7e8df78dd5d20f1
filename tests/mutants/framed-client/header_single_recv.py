# fails: framed-client/reply-byte-by-byte
# edge: framed-client/reply-byte-by-byte
# Assumes the 4 header bytes arrive in one recv(4).
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
    data = line.encode("utf-8")
    sock.sendall(struct.pack("!I", len(data)) + data)
    n = struct.unpack("!I", sock.recv(4))[0]
    print(recv_exact(sock, n).decode("utf-8"))
sock.close()
