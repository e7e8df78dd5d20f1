# fails: framed-server/two-in-one-write
# fails: framed-server/pieces
# fails: framed-server/byte-by-byte
# fails: framed-server/one-mib
# fails: framed-server/pipelined
# fails: framed-server/mid-frame-close
# fails: framed-server/zero-length
# The classic sticky-packet bug: one recv(1024) is taken for one whole message.
import socket
import struct

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        n = struct.unpack("!I", data[:4])[0]
        payload = data[4:4 + n]
        conn.sendall(struct.pack("!I", len(payload)) + payload)
    conn.close()
