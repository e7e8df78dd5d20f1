# fails: udp-area-server/not-a-number
# Does not crash on a non-number, but takes it for 0 and answers an area
# (圆的面积为：0.0): no error text at all.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    try:
        r = float(data.decode())
    except ValueError:
        r = 0.0
    s.sendto(("圆的面积为：" + str(3.14 * r * r)).encode(), addr)
