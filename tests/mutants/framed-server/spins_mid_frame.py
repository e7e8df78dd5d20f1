# fails: framed-server/mid-frame-close
# The payload loop never checks for b'': a client gone mid-frame makes it spin forever.
import socket
import struct

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    while True:
        header = b""
        while len(header) < 4:
            chunk = conn.recv(4 - len(header))
            if not chunk:
                break
            header += chunk
        if len(header) < 4:
            break
        n = struct.unpack("!I", header)[0]
        payload = b""
        while len(payload) < n:
            payload += conn.recv(n - len(payload))
        conn.sendall(header + payload)
    conn.close()
