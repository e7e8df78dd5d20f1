# UDP 发送端：按老师机房的地址写死了服务器 IP 和自己选的端口
import socket

udp_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server_addr = ('192.168.0.101', 9999)   # 服务器的地址和端口
data = input('请输入数据：')
udp_socket.sendto(data.encode('utf-8'), server_addr)
print('发送完成')
udp_socket.close()
