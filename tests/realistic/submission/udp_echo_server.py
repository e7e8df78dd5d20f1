# UDP 回显服务器：绑定本机在宿舍局域网里的地址
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(('192.168.0.101', 8090))
print('服务器已启动')
while True:
    data, addr = server.recvfrom(2048)
    print(addr, data.decode('utf-8', errors='replace'))
    server.sendto(data, addr)
