# fails: udp-recv/exits
# Prints the datagram, then keeps listening forever.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(1024)
    print(data.decode("utf-8"))
