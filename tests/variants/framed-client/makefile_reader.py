# A correct client written another way: the replies are read through conn.makefile('rb') (read(n)
# returns exactly n bytes), the lines come from sys.stdin, and the socket has a generous 10 s timeout
# on every read: a reply that pauses for a second in the middle is still read whole.
import socket
import struct
import sys

sock = socket.create_connection(('127.0.0.1', 9000))
sock.settimeout(10)
replies = sock.makefile('rb')
for raw in sys.stdin:
    line = raw.rstrip('\n')
    if line == 'exit':
        break
    payload = line.encode('utf-8')
    sock.sendall(struct.pack('>I', len(payload)) + payload)
    header = replies.read(4)
    if len(header) < 4:
        print('the server closed the connection')
        break
    (size,) = struct.unpack('>I', header)
    body = replies.read(size)
    print(body.decode('utf-8'))
replies.close()
sock.close()
