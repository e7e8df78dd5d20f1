# fails: udp-recv/port
# edge: udp-recv/port
# Listens on 8080, the port udp_send.py sends to (pairing the two programs),
# not the sheet's 8090 for the receiver; correct otherwise.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
data, addr = s.recvfrom(1024)
print(data.decode("utf-8"))
s.close()
