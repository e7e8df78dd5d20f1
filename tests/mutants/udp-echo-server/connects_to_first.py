# fails: udp-echo-server/two-clients
# edge: udp-echo-server/two-clients
# connect()s its socket to the first client so it can use send(): right for
# one client; a connected UDP socket drops datagrams from any other, so a
# second client never gets a reply.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
data, addr = s.recvfrom(4096)
s.connect(addr)
s.send(data)
while True:
    data = s.recv(4096)
    s.send(data)
