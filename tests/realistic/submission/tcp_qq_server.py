# 仿 QQ 服务器：收发都用 GBK
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('', 8008))
server.listen(5)
while True:
    conn, addr = server.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        msg = data.decode('gbk', errors='ignore')
        print('客户端：' + msg)
        if msg == 'exit':
            print('客户端退出了')
            break
        reply = input('回复：')
        conn.send(reply.encode('gbk'))
    conn.close()
