# fails: framed-client/reply-in-pieces
# fails: framed-client/reply-byte-by-byte
# fails: framed-client/one-mib-reply
# Prints every recv() as it comes: the reply is whole in the end, but spread over many lines.
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
    if line == "exit":
        break
    data = line.encode("utf-8")
    sock.sendall(struct.pack("!I", len(data)) + data)
    n = struct.unpack("!I", recv_exact(sock, 4))[0]
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        got += chunk
        print(chunk.decode("utf-8", errors="replace"))
sock.close()
