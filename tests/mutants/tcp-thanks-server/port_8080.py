# fails: tcp-thanks-server/port
# edge: tcp-thanks-server/port
# A correct thanks server on 8080 (one digit off 8088): only the port check fails.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 8080))
server.listen(5)
new_socket, addr = server.accept()
data = new_socket.recv(1024)
print("服务器端接受的数据是：", data.decode("utf-8"))
new_socket.send("Thank you!".encode("utf-8"))
new_socket.close()
server.close()
