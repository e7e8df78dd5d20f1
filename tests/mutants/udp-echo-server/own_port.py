# fails: udp-echo-server/port
# A correct echo server on a port of its own: only the port check fails.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 9090))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(data, addr)
