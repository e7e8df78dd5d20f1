# fails: udp-send/exits
# Sends correctly, then spins in a busy loop.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input().encode("utf-8"), ("127.0.0.1", 8080))
print("发送完成")
while True:
    pass
