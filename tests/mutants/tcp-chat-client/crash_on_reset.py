# fails: tcp-chat-client/server-closes
# edge: tcp-chat-client/server-closes
# Says so and ends when the server closes (recv returns b''), but a server
# that resets the connection (RST) makes recv() raise: a traceback.
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
    client.send(send_data.encode("utf-8"))
    if send_data == "see you":
        break
    info = client.recv(1024)
    if not info:
        print("服务器关闭了连接")
        break
    print("接收到的内容：" + info.decode())
client.close()
