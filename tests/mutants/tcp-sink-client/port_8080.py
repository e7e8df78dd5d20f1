# fails: tcp-sink-client/port
# edge: tcp-sink-client/port
# A correct sink client that connects to 8080 instead of 8888: redirected to
# the grader, so only the port check fails.
import socket

tcp_client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp_client_socket.connect(("127.0.0.1", 8080))
while True:
    send_data = input("please enter the sent data: ")
    if send_data == "exit":
        break
    tcp_client_socket.send(send_data.encode())
tcp_client_socket.close()
