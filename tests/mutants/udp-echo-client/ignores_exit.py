# fails: udp-echo-client/exits
# Treats 'exit' like any other line and keeps reading input.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
while True:
    try:
        line = input("请输入数据：")
    except EOFError:
        break
    s.sendto(line.encode(), ("127.0.0.1", 8090))
    try:
        try:
            print("返回的数据是:", s.recvfrom(1024)[0].decode())
        except socket.timeout:
            print("timeout")
    except socket.timeout:
        print("timeout")
