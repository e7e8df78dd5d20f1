# fails: tcp-qq-client/empty-line
# edge: tcp-qq-client/empty-line
# Skips empty lines inside its loop, but sends the first line before the loop
# without that test: an empty first line sends nothing and it waits for a
# reply that never comes.
import socket

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", 8008))
line = input("send:")
client.send(line.encode("utf-8"))
print("服务器：", client.recv(1024).decode("utf-8"))
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
    print("服务器：", data.decode("utf-8"))
client.close()
