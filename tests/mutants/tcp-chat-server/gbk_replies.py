# fails: tcp-chat-server/sends-replies
# edge: tcp-chat-server/sends-replies
# Sends the operator's replies in GBK (the Windows console's encoding): ASCII
# replies arrive as typed, Chinese ones do not.
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
    info = data.decode("utf-8")
    print("接收到的消息：" + info)
    if info == "see you":
        break
    reply = input("输入发送的内容：")
    conn.send(reply.encode("gbk"))
    if reply == "see you":
        break
conn.close()
server.close()
