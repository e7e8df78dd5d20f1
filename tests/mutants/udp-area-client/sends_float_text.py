# fails: udp-area-client/sends
# edge: udp-area-client/sends
# Checks the radius with float() and sends str(float(r)): '2.5' goes as typed,
# but '3' goes as '3.0'.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = float(input("请输入圆的半径："))
s.sendto(str(r).encode(), ("127.0.0.1", 8080))
print(s.recv(1024).decode())
s.close()
