# fails: tcp-thanks-server/restart
# edge: tcp-thanks-server/restart
# No SO_REUSEADDR: when 8088 is still busy (the old connection in TIME_WAIT)
# it quietly takes 8089 instead, so it "starts again" where no client looks.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    server.bind(("", 8088))
except OSError:
    print("8088 端口被占用，改用 8089")
    server.bind(("", 8089))
server.listen(5)
new_socket, addr = server.accept()
data = new_socket.recv(1024)
print("服务器端接受的数据是：", data.decode("utf-8"))
new_socket.send("Thank you!".encode("utf-8"))
new_socket.close()
server.close()
