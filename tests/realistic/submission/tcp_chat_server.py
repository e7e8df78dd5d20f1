# -*- coding: gbk -*-
# TCP 聊天服务器（这个文件用 GBK 保存）
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('', 6666))
server.listen(1)
conn, addr = server.accept()
print('客户端已连接：', addr)
while True:
    data = conn.recv(1024)
    if not data:
        break
    info = data.decode('utf-8')
    print('接收到的消息：' + info)
    if info == 'see you':
        break
    reply = input('请回复：')
    conn.send(reply.encode('utf-8'))
    if reply == 'see you':
        break
conn.close()
server.close()
