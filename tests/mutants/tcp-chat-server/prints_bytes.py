# fails: tcp-chat-server/prints-messages
# edge: tcp-chat-server/prints-messages
# Prints the received bytes object instead of its text: an ASCII message
# shows inside b'...', a Chinese one only as \x escapes.
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
    print("接收到的消息：", data)
    if data.decode() == "see you":
        break
    reply = input("输入发送的内容：")
    conn.send(reply.encode())
    if reply == "see you":
        break
conn.close()
server.close()
