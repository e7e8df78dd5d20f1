# Never echoes: listens on 8090, then keeps binding every UDP port it can
# get (1024-65535, the ephemeral ones included), again and again, so that
# any port freed during a check is taken too.
import os
import resource
import socket
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("", 8090))
ports = list(range(1024, 65536))
chunk = max(256, hard - 64)
for start in range(0, len(ports), chunk):
    if os.fork() == 0:
        server.close()
        held = {}
        while True:
            for port in ports[start:start + chunk]:
                if port in held:
                    continue
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    s.bind(("0.0.0.0", port))
                    held[port] = s
                except OSError:
                    s.close()
            time.sleep(0.05)
while True:
    server.recvfrom(65535)
