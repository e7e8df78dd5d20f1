# 长连接客户端：发送时用了 GBK
import socket

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(('127.0.0.1', 8888))
while True:
    line = input('请输入要发送的内容：')
    if line == 'exit':
        break
    c.send(line.encode('gbk'))
c.close()
