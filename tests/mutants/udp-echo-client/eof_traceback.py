# fails: udp-echo-client/eof
# Crashes with EOFError at the end of input.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
while True:
    line = input("请输入数据：")
    s.sendto(line.encode(), ("127.0.0.1", 8090))
    try:
        try:
            print("返回的数据是:", s.recvfrom(1024)[0].decode())
        except socket.timeout:
            print("timeout")
    except socket.timeout:
        print("timeout")
    if line == "exit":
        break
