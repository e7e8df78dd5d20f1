# fails: framed-server/pieces
# fails: framed-server/byte-by-byte
# Echoes raw bytes as they arrive: the bytes come back framed, but before each message is complete.
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("", 9000))
server.listen(5)
while True:
    conn, addr = server.accept()
    try:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)
    except OSError:  # the client went away
        pass
    conn.close()
