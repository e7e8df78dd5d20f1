# fails: udp-area-client/prints
# Receives the reply but prints only its own message.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = input("请输入圆的半径：")
s.sendto(r.encode(), ("127.0.0.1", 8080))
s.recv(1024)
print("收到了")
