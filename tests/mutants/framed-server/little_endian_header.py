# fails: framed-server/big-endian
# Packs and unpacks the length with struct's '<I' (little-endian, what 'I' gives on a PC):
# consistent with itself, but not the sheet's network byte order.
import socket
import struct


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    while True:
        header = recv_exact(conn, 4)
        if len(header) < 4:
            break
        n = struct.unpack("<I", header)[0]
        payload = recv_exact(conn, n)
        if len(payload) < n:
            break
        conn.sendall(struct.pack("<I", n) + payload)
    conn.close()
