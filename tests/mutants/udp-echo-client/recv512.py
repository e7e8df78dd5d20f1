# fails: udp-echo-client/lines
# edge: udp-echo-client/lines
# Correct but for its buffer: recvfrom(512) prints only the first 512 bytes of a 1000-byte reply.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
while True:
    try:
        line = input("请输入数据：")
    except EOFError:
        break
    s.sendto(line.encode("utf-8"), ("127.0.0.1", 8090))
    try:
        print("返回的数据是:", s.recvfrom(512)[0].decode("utf-8", "replace"))
    except socket.timeout:
        print("超时：没有收到回复")
    if line == "exit":
        break
