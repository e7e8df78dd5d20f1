# fails: tftp-client/port
# edge: tftp-client/port
# A correct client (the short-timeout variant) that sends its RRQ to 6969 instead of 69: redirected to the grader, so only the port check fails.
# A correct client written another way: a short timer, 0.5 s, and more tries (10) before it gives up.
# A lost DATA block is recovered by the last ACK again half a second later, well apart from the first
# copy (the lost-data check counts a copy as a retransmission from 0.25 s on).
from socket import *
import os
import struct
import sys

name = input('请输入文件名字:')
s = socket(AF_INET, SOCK_DGRAM)
s.settimeout(0.5)
server = ('127.0.0.1', 6969)
out_name = 'client_' + name
rrq = struct.pack('!H', 1) + name.encode('utf-8') + b'\x00octet\x00'
last = rrq
s.sendto(rrq, server)
tid = None
expected = 1
f = None
tries = 0
ok = False
while True:
    try:
        data, addr = s.recvfrom(1024)
    except timeout:
        tries += 1
        if tries > 10:
            print('服务器没有回应')
            break
        s.sendto(last, tid or server)  # the RRQ, or the last ACK, again
        continue
    if tid is None:
        tid = addr
    elif addr != tid:
        s.sendto(struct.pack('!HH', 5, 5) + b'Unknown transfer ID\x00', addr)
        continue
    if len(data) < 4:
        continue
    opcode, num = struct.unpack('!HH', data[:4])
    if opcode == 5:
        print('服务器返回：', data[4:-1].decode('utf-8', 'replace'))
        break
    if opcode != 3:
        continue
    tries = 0
    if num == expected & 0xFFFF:
        if f is None:
            f = open(out_name, 'wb')
        f.write(data[4:])
        last = struct.pack('!HH', 4, num)
        s.sendto(last, tid)
        if len(data) < 516:
            ok = True
            print('客户端下载成功')
            break
        expected += 1
    elif num == (expected - 1) & 0xFFFF:
        s.sendto(struct.pack('!HH', 4, num), tid)
if f is not None:
    f.close()
    if not ok:
        os.remove(out_name)
s.close()
sys.exit(0 if ok else 1)
