# fails: framed-server/big-endian
# edge: framed-server/big-endian
# Reads the length with '!I' as the notes do, but packs the reply's length with 'I' (the machine's
# order, little-endian on a PC): right on one side, wrong on the other.
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
            payload = recv_exact(conn, n)
            if payload is None:
                break
            conn.sendall(struct.pack("I", len(payload)) + payload)
    except OSError:
        pass
    conn.close()
