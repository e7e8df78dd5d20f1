# fails: udp-area-server/many
# edge: udp-area-server/many
# Answers a fixed number of requests (three), then exits.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
for i in range(3):
    data, addr = s.recvfrom(1024)
    try:
        r = float(data.decode())
        reply = "圆的面积为：" + str(3.14 * r * r)
    except ValueError:
        reply = "请输入数字"
    s.sendto(reply.encode(), addr)
s.close()
