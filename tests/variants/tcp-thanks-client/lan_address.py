# Connects to a LAN address over TCP: redirected to the grader, inside the sandbox.
import socket
c = socket.socket()
c.connect(("192.168.3.3", 8088))
c.sendall(input().encode())
print(c.recv(1024).decode())
c.close()
