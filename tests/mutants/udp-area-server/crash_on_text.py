# fails: udp-area-server/not-a-number
# Serves forever, but float() of a non-number crashes it.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    r = float(data)
    s.sendto(("圆的面积为：" + str(3.14 * r * r)).encode(), addr)
