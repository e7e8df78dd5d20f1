# fails: tcp-chat-server/client-disconnects
# edge: tcp-chat-server/client-disconnects
# When the client just disconnects, it waits 5 s for the client to come back
# before it gives up and exits: no traceback, no busy loop, but it ends long
# after its last step.
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
        data = b""
    if not data:
        conn.close()
        print("客户端断开了，等它重新连接...")
        server.settimeout(5)
        try:
            conn, addr = server.accept()
            continue
        except socket.timeout:
            print("客户端没有回来")
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
