# fails: udp-send/non-ascii-and-long
# Encodes with GBK: ASCII lines are right, Chinese ones are not UTF-8.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input().encode("gbk"), ("127.0.0.1", 8080))
print("发送完成")
