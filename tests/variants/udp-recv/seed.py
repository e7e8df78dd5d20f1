# The seed's receiver (001 §3.1.2) as written: binds the lab address
# 192.168.1.15:8090, prints the tuple and the text, exits.  Correct.
from socket import *
socket_server = socket(AF_INET, SOCK_DGRAM)
host_port = ('192.168.1.15', 8090)
socket_server.bind(host_port)
data = socket_server.recvfrom(1024)
print(data)
data_utf8 = data[0].decode('utf-8')
print(data_utf8)
socket_server.close()
