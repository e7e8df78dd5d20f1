# fails: tcp-qq-server/client-leaves
# 001 §3.3.3 as printed: a client leaving without 'exit' makes recv() return b'',
# which is neither printed nor 'exit', so the server reads stdin for a reply to
# nobody and never gets back to accept().
from socket import *

server_socket = socket(AF_INET, SOCK_STREAM)
server_socket.bind(('', 8008))
server_socket.listen(1)

while True:
    new_socket, client_host_post = server_socket.accept()

    while True:
        recv_data = new_socket.recv(1024)
        if len(recv_data) > 0:
            print('客户端：', recv_data.decode('utf-8'))
        if recv_data.decode('utf-8') == 'exit':
            print('客户端已经退出！')
            break

        send_data = input('send:')
        if len(send_data) > 0:
            new_socket.send(send_data.encode('utf-8'))
    new_socket.close()

server_socket.close()
