# fails: udp-area-server/reply-to-sender
# edge: udp-area-server/reply-to-sender
# Keeps the first client's address and replies there ever after: right for
# one client; a second client's answer goes to the first.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
client = None
while True:
    data, addr = s.recvfrom(1024)
    if client is None:
        client = addr
    try:
        r = float(data.decode())
        reply = "圆的面积为：" + str(3.14 * r * r)
    except ValueError:
        reply = "请输入数字"
    s.sendto(reply.encode(), client)
