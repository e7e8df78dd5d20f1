# Never answers: sprays junk from its own listening socket (so the junk comes
# from the server's address and port) at the course's other ports and at
# every ephemeral port of loopback, without waiting for any request.
import socket
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    for port in (8090, 8000, 8888, 9090, 6666, *range(32768, 61000)):
        try:
            s.sendto(b"junk", ("127.0.0.1", port))
        except OSError:
            pass
    time.sleep(0.02)
