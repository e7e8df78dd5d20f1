# fails: udp-echo-client/port
# edge: udp-echo-client/port
# A correct echo client that sends to 8080 (the area server's port) instead
# of 8090: redirected to the grader, so only the port check fails.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
while True:
    try:
        line = input("请输入数据：")
    except EOFError:
        break
    s.sendto(line.encode("utf-8"), ("127.0.0.1", 8080))
    try:
        print("返回的数据是:", s.recvfrom(4096)[0].decode("utf-8", "replace"))
    except socket.timeout:
        print("超时：没有收到回复")
    if line == "exit":
        break
s.close()
