# Never echoes: listens on 8090 first, then keeps binding every ephemeral UDP
# port of its network namespace, again and again, so that any port freed
# during a check is taken too.
import os
import resource
import socket
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("", 8090))
low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
ports = list(range(low, high + 1))
chunk = max(256, hard - 64)


def hold(mine):
    held = {}
    while True:
        for port in mine:
            if port in held:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("0.0.0.0", port))
                held[port] = s
            except OSError:
                s.close()
        time.sleep(0.05)


for start in range(0, len(ports), chunk):
    try:
        pid = os.fork()
    except OSError:  # no more processes: take the rest with what is running
        break
    if pid == 0:
        server.close()
        hold(ports[start:start + chunk])
while True:
    server.recvfrom(65535)
