# fails: tcp-thanks-server/closes
# edge: tcp-thanks-server/closes
# Replies, then waits for the client to close before it closes: the
# connection is closed, but by the client first, not by the server.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 8088))
server.listen(5)
new_socket, addr = server.accept()
data = new_socket.recv(1024)
print("服务器端接受的数据是：", data.decode("utf-8"))
new_socket.send("Thank you!".encode("utf-8"))
while new_socket.recv(1024):
    pass
new_socket.close()
server.close()
