# fails: framed-server/one-mib
# edge: framed-server/one-mib
# Refuses frames longer than 1 MB "to be safe", and counts a megabyte as 1000000 bytes: a 1 MiB
# message (1048576 bytes) is over the limit and its connection is closed.
import socket
import struct

MAX_LEN = 1000000  # 1 MB


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(min(n - len(buf), 65536))
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
            if n > MAX_LEN:
                print("message too long:", n)
                break
            payload = recv_exact(conn, n)
            if payload is None:
                break
            conn.sendall(struct.pack("!I", n) + payload)
    except OSError:
        pass
    conn.close()
