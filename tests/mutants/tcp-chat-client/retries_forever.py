# fails: tcp-chat-client/unreachable
# edge: tcp-chat-client/unreachable
# Catches the refused connection, prints a message, and tries again every
# second, forever: it never exits when no server is there.
import time
import socket

client = socket.socket()
while True:
    try:
        client.connect(("127.0.0.1", 6666))
        break
    except ConnectionRefusedError:
        print("连接失败，1 秒后重试...")
        time.sleep(1)
print("已连接...")
while True:
    try:
        send_data = input("输入发送的内容：")
    except EOFError:
        break
    client.send(send_data.encode())
    if send_data == "see you":
        break
    try:
        info = client.recv(1024)
    except ConnectionResetError:
        info = b""
    if not info:
        print("服务器关闭了连接")
        break
    print("接收到的内容：" + info.decode())
client.close()
