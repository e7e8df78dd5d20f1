# fails: tcp-chat-server/client-bye
# edge: tcp-chat-server/client-bye
# When the client says goodbye it drops the connection at once with
# SO_LINGER 0 "to free it quickly": an RST, not an orderly FIN, and only when
# the client speaks first; its own goodbye closes normally.
import struct
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
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        break
    reply = input("输入发送的内容：")
    conn.send(reply.encode())
    if reply == "see you":
        break
conn.close()
server.close()
