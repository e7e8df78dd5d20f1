# fails: tcp-chat-client/server-closes
# edge: tcp-chat-client/server-closes
# When the server closes the connection it says so, then connects again and
# goes on instead of ending ("the server may have restarted").
import socket


def connect():
    c = socket.socket()
    c.connect(("127.0.0.1", 6666))
    return c


try:
    client = connect()
except ConnectionRefusedError:
    print("连接不上服务器")
    raise SystemExit(0)
print("已连接...")
while True:
    try:
        send_data = input("输入发送的内容：")
    except EOFError:
        break
    client.send(send_data.encode())
    if send_data == "see you":
        break
    try:
        info = client.recv(1024)
    except ConnectionResetError:
        info = b""
    if not info:
        print("服务器关闭了连接，重新连接...")
        client.close()
        try:
            client = connect()
        except ConnectionRefusedError:
            print("连接不上服务器")
            break
        continue
    print("接收到的内容：" + info.decode())
client.close()
