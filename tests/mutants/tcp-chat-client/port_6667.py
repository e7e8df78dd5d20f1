# fails: tcp-chat-client/port
# edge: tcp-chat-client/port
# A correct chat client one port off (6667 for 6666): redirected to the
# grader, so only the port check fails.
import socket

client = socket.socket()
try:
    client.connect(("127.0.0.1", 6667))
except ConnectionRefusedError:
    print("连接不上服务器")
    raise SystemExit(0)
print("已连接...")
while True:
    try:
        send_data = input("输入发送的内容：")
    except EOFError:
        break
    client.send(send_data.encode("utf-8"))
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
