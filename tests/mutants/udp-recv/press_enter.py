# fails: udp-recv/exits
# edge: udp-recv/exits
# Prints the datagram, then waits for Enter to keep the console window open
# (a Windows habit): it never exits on its own after the one datagram.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
data, addr = s.recvfrom(1024)
print("收到来自", addr, "的数据：", data.decode("utf-8"))
s.close()
input("按回车键退出")
