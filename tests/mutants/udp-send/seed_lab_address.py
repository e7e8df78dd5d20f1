# fails: udp-send/one-datagram
# fails: udp-send/non-ascii-and-long
# The seed's sender (001 §3.1.1) as written: it sends to 192.168.1.15:8090,
# not to the sheet's 127.0.0.1:8080.  The lab address exists in the sandbox,
# but nothing listens on 8090 there, so the grader's peer on 8080 sees nothing.
from socket import *
client_socket = socket(AF_INET, SOCK_DGRAM)
server_host_port = ('192.168.1.15', 8090)
datas = input('请输入数据：').encode('utf-8')
client_socket.sendto(datas, server_host_port)
print('发送完成')
client_socket.close()
