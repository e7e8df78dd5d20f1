# fails: tcp-qq-client/conversation
# edge: tcp-qq-client/conversation
# Prints the reply's bytes object: ASCII shows inside b'...', Chinese only as
# \x escapes.
import socket

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", 8008))
while True:
    try:
        line = input("send:")
    except EOFError:
        break
    if not line:
        continue
    client.send(line.encode("utf-8"))
    if line == "exit":
        break
    data = client.recv(1024)
    if not data:
        print("服务器关闭了连接")
        break
    print("服务器：", data)
client.close()
