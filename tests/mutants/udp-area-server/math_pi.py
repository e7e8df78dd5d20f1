# fails: udp-area-server/value
# Uses math.pi instead of the sheet's 3.14.
import math
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    try:
        r = float(data)
        s.sendto(("圆的面积为：" + str(math.pi * r * r)).encode(), addr)
    except ValueError:
        s.sendto("半径必须是数字".encode(), addr)
