# fails: udp-area-client/prints
# edge: udp-area-client/prints
# Sends the radius and receives the reply, but prints an area it computed
# itself (two decimals): it looks right whenever the server writes the area
# the same way, and is not the server's reply.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = input("请输入圆的半径：")
s.sendto(r.encode(), ("127.0.0.1", 8080))
s.recv(1024)
print("圆的面积为：%.2f" % (3.14 * float(r) * float(r)))
s.close()
