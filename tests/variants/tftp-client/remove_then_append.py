# A correct client written another way: it opens the output in append mode ('ab'), as the notes' seed
# does, but removes any earlier copy first, so a second download is not appended to the first.  Append
# mode itself is not the fault; growing a stale file is.
import os
from socket import *
import struct

name = input('请输入文件名字:')
out_name = 'client_' + name
if os.path.exists(out_name):
    os.remove(out_name)
s = socket(AF_INET, SOCK_DGRAM)
s.settimeout(2)
req = struct.pack('!H%dsb5sb' % len(name.encode('utf-8')), 1, name.encode('utf-8'), 0, b'octet', 0)
s.sendto(req, ('127.0.0.1', 69))
last, last_to = req, ('127.0.0.1', 69)
server = None
num_wanted = 1
tries = 0
while True:
    try:
        recv_data, addr = s.recvfrom(1024)
    except timeout:
        tries += 1
        if tries > 3:
            print('下载超时')
            break
        s.sendto(last, last_to)
        continue
    if server is None:
        server = addr
    if addr != server:
        continue
    code, num = struct.unpack('!HH', recv_data[:4])
    if code == 5:
        print('服务器返回：你要下载的文件不存在！')
        break
    tries = 0
    if code == 3 and num == num_wanted % 65536:
        with open(out_name, 'ab') as f:
            f.write(recv_data[4:])
        num_wanted += 1
    last, last_to = struct.pack('!HH', 4, num), server
    s.sendto(last, last_to)
    if code == 3 and len(recv_data) < 516 and num == (num_wanted - 1) % 65536:
        print('客户端下载成功')
        break
s.close()
