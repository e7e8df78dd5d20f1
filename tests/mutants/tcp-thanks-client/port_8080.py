# fails: tcp-thanks-client/port
# edge: tcp-thanks-client/port
# A correct thanks client that connects to 8080 (one digit off 8088):
# redirected to the grader, so only the port check fails.
import socket

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(("127.0.0.1", 8080))
line = input("请输入要发送的数据：")
c.send(line.encode("utf-8"))
print(c.recv(1024).decode("utf-8"))
c.close()
