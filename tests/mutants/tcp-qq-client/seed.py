# fails: tcp-qq-client/empty-line
# 001 §3.3.3 as printed: an empty line is not sent, but the client still waits for a reply.
from socket import *

client_socket = socket(AF_INET, SOCK_STREAM)
client_socket.connect(('192.168.1.15', 8008))

while True:
    send_data = input('send:')
    if len(send_data) > 0:
        client_socket.send(send_data.encode('utf-8'))
    if send_data == 'exit':
        client_socket.close()
        break

    recv_data = client_socket.recv(1024)
    print('服务器：', recv_data.decode('utf-8'))

client_socket.close()
