# 长连接服务器：绑定 gethostname() 得到的地址（课件里的写法）
import socket

host = socket.gethostname()
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind((host, 8888))
server.listen(1)
conn, addr = server.accept()
while True:
    data = conn.recv(1024)
    if not data:
        break
    print(data.decode('utf-8'))
conn.close()
server.close()
