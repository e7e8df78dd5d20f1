# fails: udp-echo-server/echo
# edge: udp-echo-server/echo
# Correct but for its buffer: recvfrom(512) cuts the sheet's 1000-byte lines to 512 bytes.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(512)
    s.sendto(data, addr)
    print(addr, data.decode("utf-8", "replace"))
