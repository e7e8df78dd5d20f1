# Never answers: binds 8080, then sprays junk from a second socket at the
# course's other ports (where the grader keeps spy sockets) and at every
# ephemeral port of loopback (where the grader's own client sits).
import socket
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    for port in (8090, 8000, 8888, 9090, 6666, *range(32768, 61000)):
        try:
            junk.sendto("圆的面积为：28.26".encode(), ("127.0.0.1", port))
        except OSError:
            pass
    time.sleep(0.02)
