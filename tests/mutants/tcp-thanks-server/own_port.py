# fails: tcp-thanks-server/port
# A correct thanks server on port 7788: only the port check fails.
import socket
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 7788))
server.listen(1)
conn, addr = server.accept()
print("收到:", conn.recv(1024).decode("utf-8"))
conn.sendall("Thank you!".encode("utf-8"))
conn.close()
server.close()
