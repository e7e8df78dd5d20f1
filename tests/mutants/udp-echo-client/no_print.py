# fails: udp-echo-client/lines
# Receives the replies but never prints them.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
while True:
    try:
        line = input()
    except EOFError:
        break
    s.sendto(line.encode(), ("127.0.0.1", 8090))
    try:
        s.recvfrom(1024)
    except socket.timeout:
        print("no reply (timeout)")
    if line == "exit":
        break
