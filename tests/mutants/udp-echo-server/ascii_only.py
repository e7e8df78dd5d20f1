# fails: udp-echo-server/echo
# Round-trips through ASCII, dropping every non-ASCII byte.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(data.decode("ascii", "ignore").encode(), addr)
