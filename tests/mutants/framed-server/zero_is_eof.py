# fails: framed-server/zero-length
# Takes an empty payload for the end of the stream and hangs up.
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
        n = struct.unpack("!I", header)[0]
        payload = recv_exact(conn, n)
        if not payload:  # 对方关闭了
            break
        conn.sendall(struct.pack("!I", n) + payload)
    conn.close()
