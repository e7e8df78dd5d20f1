# fails: framed-server/pipelined
# edge: framed-server/pipelined
# "Fixes" sticky packets for the case seen in class: at most two messages per recv().
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
        for _ in range(2):  # 黏包: two messages may be stuck together
            if len(buf) < 4:
                break
            n = struct.unpack("!I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            conn.sendall(buf[:4 + n])
            buf = buf[4 + n:]
    conn.close()
