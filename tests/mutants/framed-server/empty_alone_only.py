# fails: framed-server/zero-length
# edge: framed-server/zero-length
# Its frame loop skips empty payloads; a zero-length message is answered by a special case that
# compares the whole recv() with 00 00 00 00, so an empty message among others gets no reply.
import socket
import struct

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            if data == b"\x00\x00\x00\x00" and not buf:  # an empty message
                conn.sendall(data)
                continue
            buf += data
            while len(buf) >= 4:
                n = struct.unpack("!I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                payload = buf[4:4 + n]
                buf = buf[4 + n:]
                if payload:
                    conn.sendall(struct.pack("!I", n) + payload)
    except OSError:
        pass
    conn.close()
