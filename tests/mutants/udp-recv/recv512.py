# fails: udp-recv/prints
# edge: udp-recv/prints
# Correct but for its buffer: recvfrom(512) keeps half of a 1024-byte datagram (the sheet allows up to 1024).
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
data, addr = s.recvfrom(512)
print(data.decode("utf-8", "replace"))
s.close()
