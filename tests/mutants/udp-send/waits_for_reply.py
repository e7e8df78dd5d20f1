# fails: udp-send/exits
# Sends correctly, then waits for a reply that never comes: never exits.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input().encode("utf-8"), ("127.0.0.1", 8080))
print("发送完成")
s.recvfrom(1024)
