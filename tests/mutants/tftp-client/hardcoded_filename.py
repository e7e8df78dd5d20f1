# fails: tftp-client/rrq
# A student client that asks for a filename fixed in the program ('test.txt') and never reads stdin
# (issue 9: 5 of 9 real clients did).  The grader's server answers whatever name is asked for, so the
# transfer is graded as usual; only the RRQ check fails, naming the fixed name (the sheet's "the
# filename" is the one typed on stdin).  It saves client_test.txt: client_<the name it asked for>, so the
# name is not blamed a second time by saved-name.
import socket
import struct

filename = 'test.txt'   # the file on the teacher's server
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
        if f is None:
            f = open('client_' + filename, 'wb')
        f.write(data[4:])
        udp.sendto(ack, server_addr)
        last_packet, last_dest = ack, server_addr
        want += 1
        if len(data) < 516:
            print('下载完成')
            break
    elif num == (want - 1) % 65536:
        udp.sendto(ack, server_addr)   # our ACK got lost: say it again

if f is not None:
    f.close()
udp.close()
