# fails: tftp-client/rrq
# fails: tftp-client/acks
# fails: tftp-client/content
# fails: tftp-client/duplicate-data
# fails: tftp-client/wrong-port
# fails: tftp-client/lost-data
# fails: tftp-client/no-empty-file
# The TFTP client of the notes (001 §3.2.3), unchanged: it already runs on Python 3.
# It talks to the lab address 192.168.1.15 (the pack's lab_addresses).  Its bugs: the
# RRQ packs the name with '%ds' % len(name), characters for bytes (a Chinese name is cut
# short), the last block is not ACKed, repeated or stray DATA is written, no timeout, and
# client_<name> is created before the first reply in mode 'ab', so a second download
# appends to the first.
from socket import *
import struct  # 负责Pyhton数据结构和C语言数据结构的转换


file_name = input('请输入文件名字:')
# 客户端的socket
s = socket(AF_INET, SOCK_DGRAM)

# 定义服务器的地址和端口号
host_port = ('192.168.1.15', 69)
# 把Python的数据转化成C语言的数据
# '!H%dsb5sb'代表格式: !开头, H短整型、%ds是字符串、b是int转为char、5s是长度为5的字符串
# 请求的数据包
data_package = struct.pack('!H%dsb5sb' % len(file_name), 1, file_name.encode('utf-8'), 0, 'octet'.encode('utf-8'), 0)

# 把数据包发送到服务器
s.sendto(data_package, host_port)

# 创建一个空白文件，准备接收客户端发过来的数据
f = open('client_' + file_name, 'ab')

while True:
    # 客户端接收服务器发过来的数据
    # 数据包有两种：1、下载文件的数据包  2、error信息包
    recv_data, (server_ip, server_port) = s.recvfrom(1024)
    operator_code, num = struct.unpack('!HH', recv_data[:4])  # 把前4个字节的数据接报出来
    if int(operator_code) == 5: # 判断数据包是否是error信息报
        print('服务器返回：你要下载的文件不存在！')
        break
    # 如果是文件内容数据包，需要保存文件内容
    f.write(recv_data[4:])

    # 意味着文件接收完了
    if len(recv_data) < 516:
        print('客户端下载成功')
        break

    # 客户端每收到一个数据包，还需要发送一个确认ack给服务器
    ack_package = struct.pack('!HH', 4, num)
    s.sendto(ack_package, (server_ip, server_port))

# 释放资源
f.close()
s.close()
