# Writes its reply in two send() calls: TCP is a byte stream, and the bytes
# that arrive are still exactly the pack's text.
import socket

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("", 8088))
srv.listen(1)
conn, addr = srv.accept()
msg = conn.recv(1024).decode("utf-8")
print("got:", msg)
conn.sendall(b"Thank ")
conn.sendall(b"you!")
conn.close()
srv.close()
