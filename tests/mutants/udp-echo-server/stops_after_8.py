# fails: udp-echo-server/many
# Serves eight datagrams, then exits.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
for _ in range(8):
    data, addr = s.recvfrom(65535)
    s.sendto(data, addr)
