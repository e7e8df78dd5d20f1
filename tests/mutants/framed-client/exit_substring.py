# fails: framed-client/exits
# edge: framed-client/exits
# Stops when a line contains 'exit' ('exit' in line) instead of when the line is 'exit': a line such
# as "before exit" ends the client without being sent.
import socket
import struct


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("server closed")
        buf += chunk
    return buf


sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect(("127.0.0.1", 9000))
while True:
    try:
        line = input()
    except EOFError:
        break
    if "exit" in line:
        break
    data = line.encode("utf-8")
    sock.sendall(struct.pack("!I", len(data)) + data)
    n = struct.unpack("!I", recv_exact(sock, 4))[0]
    print(recv_exact(sock, n).decode("utf-8"))
sock.close()
