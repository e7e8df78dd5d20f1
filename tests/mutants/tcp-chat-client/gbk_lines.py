# fails: tcp-chat-client/sends-lines
# edge: tcp-chat-client/sends-lines
# Sends its lines in GBK: ASCII lines arrive as typed, Chinese ones do not.
import socket

client = socket.socket()
try:
    client.connect(("127.0.0.1", 6666))
except ConnectionRefusedError:
    print("连接不上服务器")
    raise SystemExit(0)
print("已连接...")
while True:
    try:
        send_data = input("输入发送的内容：")
    except EOFError:
        break
    client.send(send_data.encode("gbk"))
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
