# fails: framed-client/exits
# Never handles the end of input: input() raises EOFError and the client dies with a traceback.
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
    line = input()
    if line == "exit":
        break
    data = line.encode("utf-8")
    sock.sendall(struct.pack("!I", len(data)) + data)
    n = struct.unpack("!I", recv_exact(sock, 4))[0]
    print(recv_exact(sock, n).decode("utf-8"))
sock.close()
