# fails: tcp-thanks-client/exits
# edge: tcp-thanks-client/exits
# Prints the reply and closes, then waits for Enter to keep the window open:
# it never exits on its own.
import socket

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(("127.0.0.1", 8088))
line = input("请输入要发送的数据：")
c.send(line.encode("utf-8"))
print(c.recv(1024).decode("utf-8"))
c.close()
input("按回车键退出")
