# Binds a LAN address that is not declared in the pack: it binds inside the
# sandbox (non-local bind), and the grader makes the address reachable there.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.20.30.40", 8090))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
