# fails: tcp-sink-server/exits-on-close
# edge: tcp-sink-server/exits-on-close
# Prints everything and closes when the client closes, then waits for Enter
# to keep the window open: it never exits on its own.
import socket

tcp_server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp_server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp_server_socket.bind(("", 8888))
tcp_server_socket.listen(128)
client_socket, client_addr = tcp_server_socket.accept()
while True:
    recv_data = client_socket.recv(1024).decode("utf-8")
    if not recv_data:
        break
    print(f"{client_addr} : {recv_data}")
client_socket.close()
tcp_server_socket.close()
input("按回车键退出")
