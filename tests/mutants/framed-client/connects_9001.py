# fails: framed-client/port
# edge: framed-client/port
# A correct framed client (the MSG_WAITALL variant) that connects to 9001: redirected to the grader, so only the port check fails.
# A correct client written another way: each read asks the kernel for exactly what is missing with
# MSG_WAITALL (it still loops: a signal may cut a wait short), and input() gives the lines.
import socket
import struct


def read_exactly(sock, count):
    parts = []
    while count:
        part = sock.recv(count, socket.MSG_WAITALL)
        if not part:
            raise EOFError('the server closed the connection')
        parts.append(part)
        count -= len(part)
    return b''.join(parts)


sock = socket.socket()
sock.connect(('127.0.0.1', 9001))
while True:
    try:
        text = input('> ')
    except EOFError:
        break
    if text == 'exit':
        break
    data = text.encode('utf-8')
    sock.sendall(struct.pack('!I', len(data)) + data)
    size = struct.unpack('!I', read_exactly(sock, 4))[0]
    print(read_exactly(sock, size).decode('utf-8'))
sock.close()
