# A correct client written another way: it writes into 'client_<name>.part' and renames it to
# 'client_<name>' only when the last block is in, so an ERROR or a timeout leaves nothing behind and a
# second download replaces the first whole (os.replace).
import os
import socket
import struct

filename = input('请输入文件名字:')
target = 'client_' + filename
part = target + '.part'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
request = struct.pack('!H', 1) + filename.encode('utf-8') + b'\0octet\0'
s.sendto(request, ('127.0.0.1', 69))
resend, resend_to = request, ('127.0.0.1', 69)
peer = None
block_wanted = 1
f = None
done = False
silent = 0
while not done:
    try:
        pkt, addr = s.recvfrom(600)
    except socket.timeout:
        silent += 1
        if silent == 6:
            print('服务器没有回应')
            break
        s.sendto(resend, resend_to)
        continue
    if peer is not None and addr != peer:
        s.sendto(struct.pack('!HH', 5, 5) + b'Unknown transfer ID\0', addr)
        continue
    peer = addr
    opcode, block = struct.unpack('!HH', pkt[:4])
    if opcode == 5:
        print('服务器返回：你要下载的文件不存在！')
        break
    if opcode != 3:
        continue
    silent = 0
    if block == block_wanted % 65536:
        if f is None:
            f = open(part, 'wb')
        f.write(pkt[4:])
        block_wanted += 1
        done = len(pkt) < 516
    ack = struct.pack('!HH', 4, block)
    s.sendto(ack, peer)
    resend, resend_to = ack, peer
if f is not None:
    f.close()
    if done:
        os.replace(part, target)
        print('下载完成:', target)
    else:
        os.remove(part)
s.close()
