# fails: udp-area-server/many
# fails: udp-area-server/not-a-number
# The seed's area server (000 §3.2.1) as written: one answer, then it exits;
# float() of a non-number crashes it.
import socket
host = "127.0.0.1"
port = 8080
service = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
service.bind((host, port))
print("已建立连接...")
data, addr = service.recvfrom(1024)
data = 3.14 * float(data) * float(data)
send_data = "圆的面积为：" + str(data)
print("消息已反馈")
service.sendto(send_data.encode(), addr)
service.close()
