# The seed's area client (000 §3.2.2) as written.  Correct.
import socket
host = "127.0.0.1"
port = 8080
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = input("请输入圆的半径：")
client.sendto(data.encode(), (host, port))
print(client.recv(1024).decode())
client.close()
