# 解决黏包的服务器：报头用 struct.pack('i') 打包（4 个字节）
import socket
import struct


def recv_all(conn, n):
    buf = b''
    while len(buf) < n:
        part = conn.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('', 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    while True:
        head = recv_all(conn, 4)
        if head is None:
            break
        length = struct.unpack('i', head)[0]
        body = recv_all(conn, length)
        if body is None:
            break
        conn.sendall(struct.pack('i', len(body)) + body)
    conn.close()
