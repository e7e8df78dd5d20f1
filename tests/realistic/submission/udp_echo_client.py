# UDP 回显客户端：中文用 GBK 编码发送（跟 cmd 的编码一致）
import socket

client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    try:
        msg = input('请输入：')
    except EOFError:
        break
    client.sendto(msg.encode('gbk'), ('127.0.0.1', 8090))
    data, addr = client.recvfrom(1024)
    print('返回的数据是:', data.decode('gbk'))
    if msg == 'exit':
        break
client.close()
