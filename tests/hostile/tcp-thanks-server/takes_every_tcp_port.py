# Never thanks anyone: first binds (without listening) every ephemeral TCP port
# of its network namespace, in several processes past the per-process file
# limit, then listens on 8088 and closes whatever connects.
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
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        held = []
        for port in ports[start:start + chunk]:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
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
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 8088))
server.listen(5)
while True:
    conn, _ = server.accept()
    conn.close()
