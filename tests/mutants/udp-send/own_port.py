# fails: udp-send/port
# Sends to a port of its own (9999): redirected to the grader, so only the
# port check fails.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input("请输入数据：").encode("utf-8"), ("127.0.0.1", 9999))
print("发送完成")
