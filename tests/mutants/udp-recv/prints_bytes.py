# fails: udp-recv/prints
# Prints the raw bytes object (b'\xe4...'), not the decoded text.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
data, addr = s.recvfrom(1024)
print(data)
