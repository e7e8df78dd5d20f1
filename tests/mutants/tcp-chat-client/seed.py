# fails: tcp-chat-client/server-closes
# fails: tcp-chat-client/unreachable
# 000 §3.1.2 as printed (host set to 127.0.0.1): no handling of a closed or absent server.
import socket

host = "127.0.0.1"
port = 6666

client = socket.socket()
client.connect((host, port))
print("已连接...")

info = ""
while info != "see you":
    send_data = input("输入发送的内容：")
    client.send(send_data.encode())
    if send_data == "see you":
        break
    info = client.recv(1024).decode()
    print("接收到的内容：" + info)

client.close()
