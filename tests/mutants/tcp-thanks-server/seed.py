# fails: tcp-thanks-server/reply
# fails: tcp-thanks-server/restart
# 001 §3.3.1 as printed: replies 'Thank ou!' and sets no SO_REUSEADDR.
from socket import *

server_socket = socket(AF_INET, SOCK_STREAM)
host_port = ('', 8088)
server_socket.bind(host_port)
server_socket.listen(5)
new_socket, client_addr = server_socket.accept()
data = new_socket.recv(1024)
print("服务器端接受的数据是：", data.decode('utf-8'))
new_socket.send('Thank ou!'.encode('utf-8'))
new_socket.close()
server_socket.close()
