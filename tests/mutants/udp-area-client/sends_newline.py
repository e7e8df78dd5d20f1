# fails: udp-area-client/sends
# Sends the radius with a trailing newline.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = input("请输入圆的半径：")
s.sendto((r + "\n").encode(), ("127.0.0.1", 8080))
print(s.recv(1024).decode())
