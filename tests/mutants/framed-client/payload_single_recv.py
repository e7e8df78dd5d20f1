# fails: framed-client/reply-in-pieces
# fails: framed-client/reply-byte-by-byte
# fails: framed-client/one-mib-reply
# Reads the payload with one recv(n): a short read is printed as if it were the whole reply.
import socket
import struct

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect(("127.0.0.1", 9000))
while True:
    try:
        line = input()
    except EOFError:
        break
    if line == "exit":
        break
    data = line.encode("utf-8")
    sock.sendall(struct.pack("!I", len(data)) + data)
    header = b""
    while len(header) < 4:
        header += sock.recv(4 - len(header))
    n = struct.unpack("!I", header)[0]
    print(sock.recv(n).decode("utf-8", errors="replace"))
sock.close()
