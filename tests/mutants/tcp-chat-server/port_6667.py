# fails: tcp-chat-server/port
# edge: tcp-chat-server/port
# A correct chat server one port off (6667 for 6666): only the port check fails.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("", 6667))
server.listen(1)
conn, addr = server.accept()
print("已建立连接...")
while True:
    try:
        data = conn.recv(1024)
    except ConnectionResetError:
        break
    if not data:
        break
    info = data.decode()
    print("接收到的消息：" + info)
    if info == "see you":
        break
    reply = input("输入发送的内容：")
    conn.send(reply.encode())
    if reply == "see you":
        break
conn.close()
server.close()
