# Connects to (socket.gethostname(), 8088), as the seeds' TCP clients do (correct per the sheet).
import socket
c = socket.socket()
try:
    c.connect((socket.gethostname(), 8088))
except OSError as exc:
    print("无法连接服务器:", exc)
    raise SystemExit(1)
c.sendall(input("请输入：").encode("utf-8"))
reply = c.recv(4096)
print("客户端接收到服务器的数据为：", reply.decode("utf-8", "replace"))
c.close()
