# fails: tftp-client/content
# edge: tftp-client/content
# A student client that opens the saved file in append mode ('ab'): a first download is right, a second
# one where the file already exists grows it to old + new bytes.  The content check downloads once more
# over a stale copy and names the mode.
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
        if f is None:
            f = open('client_' + filename, 'ab')
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
