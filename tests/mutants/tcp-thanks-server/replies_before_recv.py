# fails: tcp-thanks-server/reply
# edge: tcp-thanks-server/reply
# Sends its thanks as soon as the client connects, then reads the message:
# the right text, but not a reply to anything (the order of events is wrong).
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 8088))
server.listen(5)
new_socket, addr = server.accept()
new_socket.send("Thank you!".encode("utf-8"))
data = new_socket.recv(1024)
print("服务器端接受的数据是：", data.decode("utf-8"))
new_socket.close()
server.close()
