# fails: framed-server/pieces
# edge: framed-server/pieces
# Reads the header, then the payload with a 0.5 s timeout "so that a lost client cannot hang it": a
# silence inside a frame is taken for its end, and what came so far is answered as the message.
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


def recv_payload(conn, n):
    buf = b""
    conn.settimeout(0.5)
    try:
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
    except socket.timeout:
        pass  # nothing more is coming: that was the message
    finally:
        conn.settimeout(None)
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
            payload = recv_payload(conn, n)
            if payload is None:
                break
            conn.sendall(struct.pack("!I", len(payload)) + payload)
    except OSError:
        pass
    conn.close()
