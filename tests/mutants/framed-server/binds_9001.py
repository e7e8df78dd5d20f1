# fails: framed-server/port
# edge: framed-server/port
# A correct framed server (the selectors variant) one port off, on 9001: only the port check fails.
# A correct server written another way: one thread, non-blocking sockets and a selectors loop, a
# bytearray per connection fed by recv(1024); every complete frame in it is answered, the rest waits
# for the next read.  A client that goes away (FIN, RST, in the middle of a frame or not) is dropped.
import selectors
import socket

sel = selectors.DefaultSelector()
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('', 9001))
listener.listen()
listener.setblocking(False)
sel.register(listener, selectors.EVENT_READ)
buffers = {}


def drop(conn):
    sel.unregister(conn)
    buffers.pop(conn, None)
    conn.close()


while True:
    for key, _ in sel.select():
        if key.fileobj is listener:
            conn, _ = listener.accept()
            conn.setblocking(True)  # replies are written whole with sendall()
            buffers[conn] = bytearray()
            sel.register(conn, selectors.EVENT_READ)
            continue
        conn = key.fileobj
        try:
            data = conn.recv(1024)
        except OSError:
            drop(conn)
            continue
        if not data:
            drop(conn)
            continue
        buf = buffers[conn]
        buf += data
        while len(buf) >= 4:
            size = int.from_bytes(buf[:4], 'big')
            if len(buf) < 4 + size:
                break
            try:
                conn.sendall(bytes(buf[:4 + size]))
            except OSError:
                drop(conn)
                break
            del buf[:4 + size]
