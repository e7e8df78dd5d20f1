# Binds the address socket.gethostname() resolves to (correct per the sheet).
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((socket.gethostbyname(socket.gethostname()), 8090))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(data, addr)
    print(data.decode("utf-8", "replace"))
