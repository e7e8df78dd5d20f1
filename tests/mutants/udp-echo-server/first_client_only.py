# fails: udp-echo-server/two-clients
# Remembers the first client's address and replies there forever.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
first = None
while True:
    data, addr = s.recvfrom(65535)
    first = first or addr
    s.sendto(data, first)
