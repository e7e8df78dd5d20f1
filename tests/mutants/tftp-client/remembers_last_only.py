# fails: tftp-client/duplicate-data
# edge: tftp-client/duplicate-data
# Tells a duplicate by comparing with the last block number only: a copy that comes at once is
# re-ACKed and not written, a copy of an older block that comes late is written again.
from socket import *
import os
import struct
import sys

name = input('请输入文件名字:')
s = socket(AF_INET, SOCK_DGRAM)
s.settimeout(1)
server = ('127.0.0.1', 69)
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
        if tries > 5:
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
    if num != (expected - 1) & 0xFFFF:
        expected = num + 1
        if f is None:
            f = open(out_name, 'wb')
        f.write(data[4:])
        last = struct.pack('!HH', 4, num)
        s.sendto(last, tid)
        if len(data) < 516:
            ok = True
            print('客户端下载成功')
            break
    else:  # the same block as the last one: ACK it again
        s.sendto(struct.pack('!HH', 4, num), tid)
if f is not None:
    f.close()
    if not ok:
        os.remove(out_name)
s.close()
sys.exit(0 if ok else 1)
