# fails: framed-server/mid-frame-close
# edge: framed-server/mid-frame-close
# Buffers the stream right, but the buffer is made once, outside the accept loop: after a client that
# left in the middle of a frame, its leftover bytes are read as the start of the next client's stream.
import socket
import struct

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
buf = b""
while True:
    conn, addr = server.accept()
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while len(buf) >= 4:
                n = struct.unpack("!I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                conn.sendall(buf[:4 + n])
                buf = buf[4 + n:]
    except OSError:
        pass
    conn.close()
