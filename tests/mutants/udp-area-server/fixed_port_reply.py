# fails: udp-area-server/reply-to-sender
# Replies to port 8090 of the sender's host instead of the sender's port.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    try:
        reply = "圆的面积为：" + str(3.14 * float(data) * float(data))
    except ValueError:
        reply = "半径必须是数字"
    s.sendto(reply.encode(), (addr[0], 8090))
