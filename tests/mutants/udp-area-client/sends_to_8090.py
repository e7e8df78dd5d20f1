# fails: udp-area-client/port
# edge: udp-area-client/port
# A correct area client that sends to 8090 (copied from the echo client):
# redirected to the grader, so only the port check fails.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = input("请输入圆的半径：")
s.sendto(r.encode(), ("127.0.0.1", 8090))
print(s.recv(1024).decode())
s.close()
