# fails: tcp-qq-client/port
# edge: tcp-qq-client/port
# A correct QQ client that connects to 8080, its port's digits swapped
# (8008): redirected to the grader, so only the port check fails.
import socket

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", 8080))
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
