# Waits one second for an acknowledgement before it exits 0: within the few
# seconds the sheet allows after the last step, so "exits 0 on its own" holds.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input("Message: ").encode("utf-8"), ("127.0.0.1", 8080))
print("sent")
s.settimeout(1)
try:
    s.recvfrom(1024)
except (socket.timeout, ConnectionRefusedError):
    pass
s.close()
