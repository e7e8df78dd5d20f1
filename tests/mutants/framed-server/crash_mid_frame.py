# fails: framed-server/mid-frame-close
# Unpacks whatever header bytes it got when the client left: struct.error kills the server.
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
        if not header:
            break
        n = struct.unpack("!I", header)[0]
        payload = recv_exact(conn, n)
        if len(payload) < n:
            break
        conn.sendall(header + payload)
    conn.close()
