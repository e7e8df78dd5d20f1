# fails: tcp-thanks-client/port
# Connects to port 7788 instead of 8088: redirected, only the port check fails.
import socket
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(("127.0.0.1", 7788))
c.sendall(input("请输入：").encode("utf-8"))
print(c.recv(1024).decode("utf-8"))
c.close()
