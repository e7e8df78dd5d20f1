# fails: tcp-thanks-server/prints-message
# edge: tcp-thanks-server/prints-message
# Prints the received bytes object: ASCII shows inside b'...', Chinese only as
# \x escapes.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 8088))
server.listen(5)
new_socket, addr = server.accept()
data = new_socket.recv(1024)
print("服务器端接受的数据是：", data)
new_socket.send("Thank you!".encode("utf-8"))
new_socket.close()
server.close()
