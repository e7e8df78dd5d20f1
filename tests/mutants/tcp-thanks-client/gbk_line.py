# fails: tcp-thanks-client/line-arrives
# edge: tcp-thanks-client/line-arrives
# Sends the line in GBK: an ASCII line arrives whole, a Chinese one does not.
import socket

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(("127.0.0.1", 8088))
line = input("请输入要发送的数据：")
c.send(line.encode("gbk"))
print(c.recv(1024).decode("utf-8"))
c.close()
