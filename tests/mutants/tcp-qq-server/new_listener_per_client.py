# fails: tcp-qq-server/second-client
# edge: tcp-qq-server/second-client
# Makes a new listening socket for every client, without SO_REUSEADDR, and
# closes it once a client is accepted.  After a client's 'exit' the server has
# closed first, so its old connection sits in TIME_WAIT on port 8008: the new
# bind() fails and the second client is never served.  (A client that leaves
# by itself closes first, and then the bind works.)
import socket

while True:
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.bind(("", 8008))
    server_socket.listen(1)
    new_socket, addr = server_socket.accept()
    server_socket.close()
    while True:
        try:
            recv_data = new_socket.recv(1024)
        except ConnectionResetError:
            break
        if not recv_data:
            break
        msg = recv_data.decode("utf-8")
        print("客户端：", msg)
        if msg == "exit":
            print("客户端已经退出！")
            break
        send_data = input("send:")
        new_socket.send(send_data.encode("utf-8"))
    new_socket.close()
