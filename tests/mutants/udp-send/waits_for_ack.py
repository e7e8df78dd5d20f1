# fails: udp-send/exits
# edge: udp-send/exits
# Sends correctly, then waits 10 s for an acknowledgement nobody sends before
# it exits 0: it exits on its own, but late (the sheet allows a few seconds).
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input("请输入数据：").encode("utf-8"), ("127.0.0.1", 8080))
print("发送完成")
s.settimeout(10)
try:
    print("确认：", s.recvfrom(1024)[0].decode("utf-8", "replace"))
except (socket.timeout, ConnectionRefusedError):
    print("没有确认")
s.close()
