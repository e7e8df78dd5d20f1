# Hard-codes a LAN address (as 10 of 45 real student programs do) and connects
# its UDP socket: graded as written, inside the sandbox, replies from that address.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("192.168.0.101", 8080))
s.send(input("请输入数据：").encode("utf-8"))
print("发送完成")
