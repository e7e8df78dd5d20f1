# fails: udp-echo-server/empty
# edge: udp-echo-server/empty
# Stream thinking: takes an empty datagram for "the client closed" (as recv()
# returning b'' means on TCP) and stops serving.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(4096)
    if not data:
        print("客户端已关闭")
        break
    s.sendto(data, addr)
s.close()
