# fails: tcp-chat-server/operator-bye
# edge: tcp-chat-server/operator-bye
# Sends the operator's goodbye and closes, then ends with exit("...") to say
# so: exit status 1 on that path only (the client's goodbye ends with 0).
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("", 6666))
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
        conn.close()
        server.close()
        exit("服务器结束了聊天")
conn.close()
server.close()
