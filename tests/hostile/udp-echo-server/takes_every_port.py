# Never echoes: first binds every ephemeral UDP port of its network namespace
# (in several processes, past the per-process file limit), then listens on
# 8090 and swallows whatever arrives.
import os
import resource
import socket
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
ports = list(range(low, high + 1))
chunk = max(256, hard - 64)
ready_r, ready_w = os.pipe()
children = 0
for start in range(0, len(ports), chunk):
    if os.fork() == 0:
        held = []
        for port in ports[start:start + chunk]:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("0.0.0.0", port))
                held.append(s)
            except OSError:
                s.close()
        os.write(ready_w, b".")
        while True:
            time.sleep(3600)
    children += 1
done = 0
while done < children:
    done += len(os.read(ready_r, 64))
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("", 8090))
while True:
    server.recvfrom(65535)
