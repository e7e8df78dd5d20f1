# fails: udp-echo-server/empty
# Takes an empty datagram for "nothing" and does not answer it.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(65535)
    if not data:
        continue
    s.sendto(data, addr)
