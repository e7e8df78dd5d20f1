# UDP 接收端：Windows 的 cmd 是 GBK，所以把输出也改成 GBK，免得中文乱码
import io
import socket
import sys

sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='gbk', line_buffering=True)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('', 8090))
data, addr = s.recvfrom(1024)
print('收到来自', addr, '的数据：', data.decode('utf-8'))
s.close()
