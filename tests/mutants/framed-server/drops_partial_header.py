# fails: framed-server/two-in-one-write
# edge: framed-server/two-in-one-write
# Buffers correctly, but throws away a leftover shorter than a header after a frame ("garbage").
import socket
import struct

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    buf = b""
    while True:
        data = conn.recv(65536)
        if not data:
            break
        buf += data
        replied = False
        while len(buf) >= 4:
            n = struct.unpack("!I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            conn.sendall(struct.pack("!I", n) + buf[4:4 + n])
            buf = buf[4 + n:]
            replied = True
        if replied and len(buf) < 4:
            buf = b""
    conn.close()
