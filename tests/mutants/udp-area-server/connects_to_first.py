# fails: udp-area-server/many
# connect()s its socket to the first client to use send(): it answers that
# client again and again, but a connected UDP socket drops every other
# client's request.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
data, addr = s.recvfrom(1024)
s.connect(addr)
while True:
    try:
        r = float(data.decode())
        reply = "圆的面积为：" + str(3.14 * r * r)
    except ValueError:
        reply = "请输入数字"
    s.send(reply.encode())
    data = s.recv(1024)
