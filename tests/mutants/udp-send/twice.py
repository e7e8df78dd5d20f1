# fails: udp-send/one-datagram
# fails: udp-send/non-ascii-and-long
# Sends the datagram twice "to be safe".
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = input().encode()
s.sendto(data, ("127.0.0.1", 8080))
s.sendto(data, ("127.0.0.1", 8080))
print("发送完成")
