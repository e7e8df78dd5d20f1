# fails: framed-server/pieces
# fails: framed-server/byte-by-byte
# fails: framed-server/one-mib
# Reads the header properly but the payload with one recv(n): a short read is taken for all of it.
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
    try:
        while True:
            header = recv_exact(conn, 4)
            if header is None:
                break
            n = struct.unpack("!I", header)[0]
            payload = conn.recv(n) if n else b""
            conn.sendall(struct.pack("!I", len(payload)) + payload)
    except OSError:
        pass
    conn.close()
