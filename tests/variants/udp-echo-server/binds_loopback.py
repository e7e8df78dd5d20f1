# Binds 127.0.0.1 explicitly (correct per the sheet).
from socket import *
s = socket(AF_INET, SOCK_DGRAM)
s.bind(("127.0.0.1", 8090))
while True:
    data, addr = s.recvfrom(4096)
    s.sendto(data, addr)
