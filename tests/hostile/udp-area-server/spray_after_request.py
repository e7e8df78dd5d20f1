# Never answers the sender: each request makes it spray junk, from its own
# listening socket, at every one of the course's other ports.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    for port in (8090, 8000, 8888, 9090, 6666):
        s.sendto(b"junk " + data, (addr[0], port))
