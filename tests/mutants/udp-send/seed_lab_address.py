# fails: udp-send/port
# The seed's sender (001 §3.1.1) as written: it sends to the lab address
# 192.168.1.15 on port 8090, not to the sheet's port 8080.  Its datagram is
# redirected to the grader's peer, so it is graded for what it sends; only
# the port check fails.
from socket import *
client_socket = socket(AF_INET, SOCK_DGRAM)
server_host_port = ('192.168.1.15', 8090)
datas = input('请输入数据：').encode('utf-8')
client_socket.sendto(datas, server_host_port)
print('发送完成')
client_socket.close()
