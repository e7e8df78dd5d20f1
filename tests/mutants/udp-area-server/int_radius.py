# fails: udp-area-server/value
# edge: udp-area-server/value
# Reads the radius with int(): right for whole radii, an error text for 2.5.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    try:
        r = int(data.decode())
        reply = "圆的面积为：" + str(3.14 * r * r)
    except ValueError:
        reply = "半径必须是整数"
    s.sendto(reply.encode(), addr)
