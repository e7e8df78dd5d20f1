# 解决黏包的客户端：报头用 struct.pack('i')
import socket
import struct


def recv_all(sock, n):
    buf = b''
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise ConnectionError('服务器断开')
        buf += part
    return buf


client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(('127.0.0.1', 9000))
while True:
    try:
        line = input()
    except EOFError:
        break
    if line == 'exit':
        break
    data = line.encode('utf-8')
    client.sendall(struct.pack('i', len(data)) + data)
    n = struct.unpack('i', recv_all(client, 4))[0]
    print(recv_all(client, n).decode('utf-8'))
client.close()
