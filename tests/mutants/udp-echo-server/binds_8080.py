# fails: udp-echo-server/port
# edge: udp-echo-server/port
# A correct echo server on 8080, the area server's port (copied from the
# other lab program): only the port check fails.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(4096)
    s.sendto(data, addr)
