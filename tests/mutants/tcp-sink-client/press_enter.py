# fails: tcp-sink-client/exits
# edge: tcp-sink-client/exits
# Closes the connection after 'exit', then waits for Enter to keep the window
# open: it never exits on its own.
import socket

tcp_client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp_client_socket.connect(("127.0.0.1", 8888))
while True:
    send_data = input("please enter the sent data: ")
    if send_data == "exit":
        break
    tcp_client_socket.send(send_data.encode())
tcp_client_socket.close()
input("按回车键退出")
