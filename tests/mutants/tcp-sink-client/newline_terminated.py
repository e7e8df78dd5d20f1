# fails: tcp-sink-client/exit-not-sent
# edge: tcp-sink-client/exit-not-sent
# Reads sys.stdin line by line and sends each line with its newline, testing
# for 'exit' after sending it: the lines arrive, and so does "exit\n".
import socket
import sys

tcp_client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp_client_socket.connect(("127.0.0.1", 8888))
for line in sys.stdin:
    tcp_client_socket.send(line.encode())
    if line.strip() == "exit":
        break
tcp_client_socket.close()
