# The seed's sink server (004 §5) as printed: recv(1024) and decode per
# chunk.  The course's sink lines are typed lines, far under 1024 bytes and
# each one send(): the seed's reads are enough, and it keeps its marks.
from socket import *

# 创建TCP套接字
tcp_server_socket = socket(AF_INET, SOCK_STREAM)

# 绑定IP和端口
tcp_server_socket.bind(("127.0.0.1", 8888))

# 将套接字设置为监听状态
tcp_server_socket.listen(128)

# 等待连接请求,获取服务套接字
client_socket, client_addr = tcp_server_socket.accept()

while True:
    recv_data = client_socket.recv(1024).decode()
    # 客户端调用close; recv_data为 ''
    if not recv_data:
        break

    print(f"{client_addr} : {recv_data}")

# 关闭服务套接字和监听套接字
client_socket.close()
tcp_server_socket.close()
