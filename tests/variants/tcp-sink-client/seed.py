# The seed's sink client (004 §5) as printed: one connection, every line
# until 'exit' (not sent), then close(): an orderly FIN.
from socket import *

# 创建TCP套接字
tcp_client_socket = socket(AF_INET, SOCK_STREAM)

# 连接TCP服务器
tcp_client_socket.connect(("127.0.0.1", 8888))

while True:
    send_data = input("please enter the sent data: ")
    if send_data == "exit":
        break

    tcp_client_socket.send(send_data.encode())

# 关闭套接字
tcp_client_socket.close()
