# fails: udp-echo-client/eof
# fails: udp-echo-client/lost-reply
# The seed's echo client (001 §3.1.3) as written: it talks to the lab address
# 192.168.1.15:8090 (present in the sandbox), blocks forever when a reply is
# lost, and crashes at the end of input.
from socket import *
client_socket = socket(AF_INET, SOCK_DGRAM)
while True:
    server_host_port = ('192.168.1.15', 8090)
    datas = input('请输入数据：').encode('utf-8')
    client_socket.sendto(datas, server_host_port)
    print('返回的数据是:', client_socket.recvfrom(1024)[0].decode('utf-8'))
    if datas.decode('utf-8') == 'exit':
        break
client_socket.close()
