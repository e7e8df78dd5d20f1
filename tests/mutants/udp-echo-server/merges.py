# fails: udp-echo-server/boundaries
# edge: udp-echo-server/boundaries
# Drains whatever is queued and answers it as one reply (stream thinking on UDP).
import select
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(65535)
    while select.select([s], [], [], 0.05)[0]:
        more, _ = s.recvfrom(65535)
        data += more
    s.sendto(data, addr)
