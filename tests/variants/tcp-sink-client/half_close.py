# Closes in two steps: shutdown(SHUT_WR) sends its FIN, then it waits for
# the server's own close (the sheet's sink server closes when recv returns
# b'') before it exits 0.  An orderly close, as the sheet asks.
import socket

s = socket.create_connection(("127.0.0.1", 8888))
while True:
    line = input("> ")
    if line == "exit":
        break
    s.sendall(line.encode("utf-8"))
s.shutdown(socket.SHUT_WR)
s.settimeout(3)
try:
    while s.recv(1024):
        pass
except socket.timeout:
    pass
s.close()
print("bye")
