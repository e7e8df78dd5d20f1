# fails: framed-server/byte-by-byte
# edge: framed-server/byte-by-byte
# Knows that a header can be split, and reads once more for the missing bytes, but only once: a header
# split in two is put together, one that comes in three or four pieces is not.
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
            header = conn.recv(4)
            if 0 < len(header) < 4:
                header += conn.recv(4 - len(header))  # the rest of a split header
            if len(header) < 4:
                break
            n = struct.unpack("!I", header)[0]
            payload = recv_exact(conn, n)
            if payload is None:
                break
            conn.sendall(header + payload)
    except OSError:
        pass
    conn.close()
