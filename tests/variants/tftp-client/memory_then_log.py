# A correct client written another way: it keeps the blocks in memory and writes client_<name> in one
# go ('wb') when the transfer is complete, and it also appends a line to its own 'download.log' in the
# same folder on every run.  The saved file is found among the files the run changed; the log is not it.
import socket
import struct
import time


def log(line):
    with open('download.log', 'a', encoding='utf-8') as f:
        f.write(time.strftime('%H:%M:%S ') + line + '\n')


def fetch(name):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1)
    first = struct.pack('!H', 1) + name.encode() + b'\x00' + b'octet' + b'\x00'
    sock.sendto(first, ('127.0.0.1', 69))
    pending, dest = first, ('127.0.0.1', 69)
    server, blocks, waits = None, [], 0
    while True:
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            waits += 1
            if waits > 5:
                return None, 'timeout'
            sock.sendto(pending, dest)
            continue
        if server is None:
            server = addr
        elif addr != server:
            continue
        op, n = struct.unpack('!HH', data[:4])
        if op == 5:
            return None, data[4:-1].decode('utf-8', 'replace')
        if op != 3:
            continue
        waits = 0
        if n == (len(blocks) + 1) % 65536:
            blocks.append(data[4:])
        pending, dest = struct.pack('!HH', 4, n), server
        sock.sendto(pending, dest)
        if n == len(blocks) % 65536 and len(data) < 516:
            return b''.join(blocks), ''


filename = input('请输入文件名字:')
content, why = fetch(filename)
if content is None:
    print('服务器返回：' + why)
    log('%s failed: %s' % (filename, why))
else:
    with open('client_' + filename, 'wb') as f:
        f.write(content)
    print('下载完成 %d 字节' % len(content))
    log('%s %d bytes' % (filename, len(content)))
