# Binds the lab address the class was told to use (declared in the pack).
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.1.15", 8090))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(data, addr)
