# A correct client written another way: after the first DATA it connect()s its socket to the server's
# transfer port, so the kernel itself drops datagrams from any other port (the wrong-port line), and it
# uses send()/recv() from then on.  The filename is read with sys.stdin.readline().
import socket
import struct
import sys

print('请输入文件名字:', end='', flush=True)
name = sys.stdin.readline().strip()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(1.5)
rrq = b'\x00\x01' + name.encode() + b'\x00octet\x00'
sock.sendto(rrq, ('127.0.0.1', 69))


def receive(tries=5):
    """The next datagram, sending the last packet again after each silent timeout."""
    for _ in range(tries):
        try:
            return sock.recvfrom(2048)
        except socket.timeout:
            if connected:
                sock.send(last)
            else:
                sock.sendto(rrq, ('127.0.0.1', 69))
    return None, None


connected = False
last = rrq
expected = 1
out = None
status = 1
while True:
    packet, addr = receive()
    if packet is None:
        print('超时：服务器没有回应')
        break
    if not connected:
        sock.connect(addr)  # the first reply fixes the server's transfer ID
        connected = True
    op = int.from_bytes(packet[:2], 'big')
    if op == 5:
        print('服务器返回：', packet[4:].split(b'\x00')[0].decode('utf-8', 'replace'))
        break
    if op != 3 or len(packet) < 4:
        continue
    block = int.from_bytes(packet[2:4], 'big')
    if block == expected & 0xFFFF:
        if out is None:
            out = open('client_' + name, 'wb')
        out.write(packet[4:])
        last = struct.pack('!HH', 4, block)
        sock.send(last)
        expected += 1
        if len(packet) - 4 < 512:
            print('下载完成')
            status = 0
            break
    elif block == (expected - 1) & 0xFFFF:
        sock.send(struct.pack('!HH', 4, block))
if out is not None:
    out.close()
sock.close()
sys.exit(status)
