# A correct server written another way: a thread per client, and the socket read through a buffered
# file (conn.makefile('rb')), whose read(n) returns exactly n bytes however they arrive (fewer only at
# the end of the stream); the reply's header and payload go in two sendall() calls.
import socket
import struct
import threading


def serve(conn):
    with conn, conn.makefile('rb') as stream:
        while True:
            header = stream.read(4)
            if len(header) < 4:  # the client left (in the middle of a header, maybe)
                return
            (size,) = struct.unpack('>I', header)
            body = stream.read(size)
            if len(body) < size:  # the client left in the middle of the payload
                return
            conn.sendall(struct.pack('>I', size))
            conn.sendall(body)


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('0.0.0.0', 9000))
listener.listen(8)
while True:
    client, _ = listener.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
