# fails: tcp-qq-server/client-leaves
# edge: tcp-qq-server/client-leaves
# Serves the next client when one closes without 'exit' (recv returns b''),
# but a client that resets the connection (RST) makes recv() raise: a crash.
import socket

server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(("", 8008))
server_socket.listen(5)
while True:
    new_socket, addr = server_socket.accept()
    while True:
        recv_data = new_socket.recv(1024)
        if not recv_data:
            print("客户端断开了")
            break
        msg = recv_data.decode("utf-8")
        print("客户端：", msg)
        if msg == "exit":
            print("客户端已经退出！")
            break
        send_data = input("send:")
        new_socket.send(send_data.encode("utf-8"))
    new_socket.close()
