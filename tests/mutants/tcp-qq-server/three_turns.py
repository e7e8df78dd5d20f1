# fails: tcp-qq-server/conversation
# edge: tcp-qq-server/conversation
# Talks three turns with each client, then closes it and waits for the next:
# a short conversation works, a longer one is cut off.
import socket

server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(("", 8008))
server_socket.listen(5)
while True:
    new_socket, addr = server_socket.accept()
    for turn in range(3):
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
