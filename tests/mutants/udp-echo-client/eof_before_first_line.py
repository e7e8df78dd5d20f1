# fails: udp-echo-client/eof
# edge: udp-echo-client/eof
# Reads the first line before its loop and catches the end of input only
# inside the loop: an input that ends after a line is fine, an empty input
# raises EOFError at the first input() (a traceback).
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
line = input("请输入数据：")
while True:
    s.sendto(line.encode("utf-8"), ("127.0.0.1", 8090))
    try:
        print("返回的数据是:", s.recvfrom(4096)[0].decode("utf-8", "replace"))
    except socket.timeout:
        print("超时：没有收到回复")
    if line == "exit":
        break
    try:
        line = input("请输入数据：")
    except EOFError:
        break
s.close()
