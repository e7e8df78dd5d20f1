# fails: framed-server/byte-by-byte
# fails: framed-server/two-in-one-write
# fails: framed-server/mid-frame-close
# Assumes the 4 header bytes always arrive together: struct.error when they don't.
import socket
import struct


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    while True:
        header = conn.recv(4)
        if not header:
            break
        n = struct.unpack("!I", header)[0]
        payload = recv_exact(conn, n)
        if payload is None:
            break
        conn.sendall(struct.pack("!I", n) + payload)
    conn.close()
