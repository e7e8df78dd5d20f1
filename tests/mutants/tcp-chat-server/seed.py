# fails: tcp-chat-server/client-disconnects
# 000 §3.1.1 as printed (host set to 127.0.0.1): when the client just leaves,
# recv() returns '' and the loop goes on reading stdin and sending into the dead connection.
import socket

host = "127.0.0.1"
port = 6666

service = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
service.bind((host, port))
service.listen(1)
socket, addr = service.accept()
print("已建立连接...")

info = socket.recv(1024).decode()

while info != "see you":
    if info:
        print("接收到的消息：" + info)
    send_data = input("输入发送的内容：")
    socket.send(send_data.encode())
    if send_data == "see you":
        break
    info = socket.recv(1024).decode()

socket.close()
service.close()
