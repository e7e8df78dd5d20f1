# fails: udp-send/non-ascii-and-long
# edge: udp-send/non-ascii-and-long
# Cuts the payload to 512 bytes.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input().encode("utf-8")[:512], ("127.0.0.1", 8080))
print("发送完成")
