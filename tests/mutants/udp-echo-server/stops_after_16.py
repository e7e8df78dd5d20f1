# fails: udp-echo-server/many
# edge: udp-echo-server/many
# Serves a fixed number of datagrams (16, more than a short test sends), then exits.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
for i in range(16):
    data, addr = s.recvfrom(4096)
    s.sendto(data, addr)
s.close()
