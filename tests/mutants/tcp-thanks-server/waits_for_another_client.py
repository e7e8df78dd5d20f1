# fails: tcp-thanks-server/exits
# edge: tcp-thanks-server/exits
# Serves its client and closes, then waits 5 s in case another client comes
# before it exits 0: it exits, but long after its last step.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 8088))
server.listen(5)
new_socket, addr = server.accept()
data = new_socket.recv(1024)
print("服务器端接受的数据是：", data.decode("utf-8"))
new_socket.send("Thank you!".encode("utf-8"))
new_socket.close()
server.settimeout(5)
try:
    other, addr = server.accept()
    other.close()
except socket.timeout:
    pass
server.close()
