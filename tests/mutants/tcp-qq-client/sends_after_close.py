# fails: tcp-qq-client/exits-after-exit
# edge: tcp-qq-client/exits-after-exit
# After 'exit' it closes, then tries to tell the server goodbye on the closed
# socket: OSError, a traceback and exit status 1.
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
    print("服务器：", data.decode("utf-8"))
client.close()
client.send("bye".encode("utf-8"))
