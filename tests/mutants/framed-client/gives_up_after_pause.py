# fails: framed-client/reply-in-pieces
# edge: framed-client/reply-in-pieces
# Reads the reply's header, then its payload with a 0.5 s timeout "so that it cannot hang": a silence
# inside the reply is taken for its end, and what came so far is printed as the reply.
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


def recv_payload(sock, n):
    buf = b""
    sock.settimeout(0.5)
    try:
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass  # the server has sent everything
    finally:
        sock.settimeout(None)
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
    print(recv_payload(sock, n).decode("utf-8", "replace"))
sock.close()
