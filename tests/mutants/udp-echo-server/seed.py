# fails: udp-echo-server/invalid-utf8
# The seed's echo server (001 §3.1.3) as written: it echoes first, then
# decodes for printing and crashes on a payload that is not valid UTF-8.
from socket import *
socket_server = socket(AF_INET, SOCK_DGRAM)
host_port = ('', 8090)
socket_server.bind(host_port)
while True:
    data = socket_server.recvfrom(1024)
    socket_server.sendto(data[0], data[1])
    print(data[0].decode('utf-8'))
socket_server.close()
