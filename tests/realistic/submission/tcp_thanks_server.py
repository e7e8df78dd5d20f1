# 回复 Thank you! 的服务器，用了自己喜欢的端口 8000
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', 8000))
s.listen(5)
new_socket, client_addr = s.accept()
data = new_socket.recv(1024)
print('收到：', data.decode('utf-8'))
new_socket.send('Thank you!'.encode('utf-8'))
new_socket.close()
s.close()
