# fails: udp-send/one-datagram
# fails: udp-send/non-ascii-and-long
# Sends the line with its newline (a classic: sys.stdin.readline()).
import socket
import sys
line = sys.stdin.readline()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(line.encode("utf-8"), ("127.0.0.1", 8080))
print("发送完成")
