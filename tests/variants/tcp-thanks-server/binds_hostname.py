# Binds (socket.gethostname(), 8088), as the seeds' TCP servers do (correct per the sheet).
import socket
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((socket.gethostname(), 8088))
server.listen(1)
conn, addr = server.accept()
data = conn.recv(4096)
if data:
    print("服务器端接受的数据是：", data.decode("utf-8", "replace"))
    conn.sendall("Thank you!".encode("utf-8"))
else:
    print("the client sent nothing")
conn.close()
server.close()
