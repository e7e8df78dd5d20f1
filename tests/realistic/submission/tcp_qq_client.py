# 仿 QQ 客户端：先问服务器地址
import socket

server_ip = input('请输入服务器ip:')
server_port = int(input('请输入服务器port:'))
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((server_ip, server_port))
while True:
    msg = input('send:')
    if not msg:
        continue
    client.send(msg.encode('utf-8'))
    if msg == 'exit':
        break
    print('服务器：' + client.recv(1024).decode('utf-8'))
client.close()
