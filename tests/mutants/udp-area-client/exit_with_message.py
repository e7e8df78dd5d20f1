# fails: udp-area-client/exits
# edge: udp-area-client/exits
# Prints the reply, then ends with exit("...") to say goodbye: a message on
# stderr and exit status 1, not 0.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = input("请输入圆的半径：")
s.sendto(r.encode(), ("127.0.0.1", 8080))
print(s.recv(1024).decode())
s.close()
exit("计算完成，再见")
