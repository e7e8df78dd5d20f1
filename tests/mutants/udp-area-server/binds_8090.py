# fails: udp-area-server/port
# edge: udp-area-server/port
# A correct area server on 8090, the echo server's port (copied from the
# echo lab): only the port check fails.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(1024)
    try:
        r = float(data.decode())
        reply = "圆的面积为：" + str(3.14 * r * r)
    except ValueError:
        reply = "请输入数字"
    s.sendto(reply.encode(), addr)
