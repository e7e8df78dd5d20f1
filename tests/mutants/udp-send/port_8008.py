# fails: udp-send/port
# edge: udp-send/port
# A correct sender with the port's digits swapped (8008 for 8080): a slip of
# one keystroke; redirected to the grader, so only the port check fails.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input("请输入数据：").encode("utf-8"), ("127.0.0.1", 8008))
print("发送完成")
s.close()
