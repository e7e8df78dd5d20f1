# fails: udp-send/one-datagram
# edge: udp-send/one-datagram
# Cleans the line with strip() before sending: right for every line but one
# typed with spaces at its ends, whose payload loses them.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = input("请输入数据：").strip()
s.sendto(data.encode("utf-8"), ("127.0.0.1", 8080))
print("发送完成")
s.close()
