# fails: udp-area-client/exits
# Loops to ask for another radius instead of exiting.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    r = input("请输入圆的半径：")
    s.sendto(r.encode(), ("127.0.0.1", 8080))
    print(s.recv(1024).decode())
