# fails: framed-client/one-mib-reply
# edge: framed-client/one-mib-reply
# Decodes each recv() on its own: a Chinese character split between two reads breaks it.
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
    text, got = "", 0
    while got < n:
        chunk = sock.recv(min(4096, n - got))
        got += len(chunk)
        text += chunk.decode("utf-8")
    print(text)
sock.close()
