# 求圆面积的客户端：服务器的 IP 和端口由用户输入
import socket

host = input('请输入服务器IP：')
port = int(input('请输入服务器端口：'))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = input('请输入圆的半径：')
c.sendto(r.encode(), (host, port))
data, addr = c.recvfrom(1024)
print(data.decode())
c.close()
