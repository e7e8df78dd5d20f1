# fails: udp-recv/exits
# Prints the text, then crashes on a typo (exit status 1, traceback).
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
data, addr = s.recvfrom(1024)
print(data.decode("utf-8"))
s.clsoe()
