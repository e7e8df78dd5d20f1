# TCP 聊天客户端：先输入服务器的 IP 和端口（老师说运行时再填）
import socket

ip = input('请输入服务器IP：')
port = int(input('请输入服务器端口：'))
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((ip, port))
while True:
    msg = input('请输入：')
    client.send(msg.encode('utf-8'))
    if msg == 'see you':
        break
    data = client.recv(1024)
    if not data:
        print('服务器断开了')
        break
    print('接收到的内容：' + data.decode('utf-8'))
client.close()
