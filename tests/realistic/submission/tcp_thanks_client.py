# 连接同学电脑上的服务器（局域网地址，端口 8000）
import socket

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(('10.0.0.7', 8000))
msg = input('请输入：')
c.send(msg.encode('utf-8'))
print(c.recv(1024).decode('utf-8'))
c.close()
