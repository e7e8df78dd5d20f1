# fails: tftp-client/content
# fails: tftp-client/duplicate-data
# fails: tftp-client/wrong-port
# fails: tftp-client/lost-data
# Not a student's slip but a guard for the grader: the client downloads correctly (into memory), then
# leaves client_<name> as a symbolic link to /etc/passwd instead of a file.  The grader never follows a
# link a program leaves (it may run with more rights than the program): every check that reads the
# saved file fails saying it is a link, and nothing of /etc/passwd reaches a message.
import os
import socket
import struct

filename = input('请输入文件名字:').strip()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(1)

request = struct.pack('!H', 1) + filename.encode('utf-8') + b'\x00' + b'octet' + b'\x00'
udp.sendto(request, ('127.0.0.1', 69))
last_packet, last_dest = request, ('127.0.0.1', 69)

server_addr = None   # the port the first DATA comes from
want = 1             # the block we wait for
f = None
retries = 0
while True:
    try:
        data, addr = udp.recvfrom(1024)
    except socket.timeout:
        retries += 1
        if retries > 5:
            print('服务器没有响应')
            break
        udp.sendto(last_packet, last_dest)
        continue
    if server_addr is None:
        server_addr = addr
    elif addr != server_addr:
        continue     # not our server
    opcode, num = struct.unpack('!HH', data[:4])
    if opcode == 5:
        print('服务器返回：你要下载的文件不存在！')
        break
    if opcode != 3:
        continue
    retries = 0
    ack = struct.pack('!HH', 4, num)
    if num == want % 65536:
        if f is None:  # the bytes are kept in memory
            f = []
        f.append(data[4:])
        udp.sendto(ack, server_addr)
        last_packet, last_dest = ack, server_addr
        want += 1
        if len(data) < 516:
            print('下载完成')
            break
    elif num == (want - 1) % 65536:
        udp.sendto(ack, server_addr)   # our ACK got lost: say it again

if f is not None:
    os.symlink('/etc/passwd', 'client_' + filename)
udp.close()
