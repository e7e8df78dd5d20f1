# fails: tcp-chat-server/client-disconnects
# edge: tcp-chat-server/client-disconnects
# Ends cleanly when the client closes (recv returns b''), but a client that
# resets the connection (RST) makes recv() raise: a traceback.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("", 6666))
server.listen(1)
conn, addr = server.accept()
print("已建立连接...")
while True:
    data = conn.recv(1024)
    if not data:
        print("客户端断开了连接")
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
