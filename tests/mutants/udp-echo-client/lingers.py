# fails: udp-echo-client/exits
# edge: udp-echo-client/exits
# After 'exit' and its echo, waits 10 s for late replies before it exits 0:
# it exits, but long after its last step.
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
        print("返回的数据是:", s.recvfrom(4096)[0].decode("utf-8", "replace"))
    except socket.timeout:
        print("超时：没有收到回复")
    if line == "exit":
        s.settimeout(10)
        try:
            print("迟到的回复:", s.recvfrom(4096)[0].decode("utf-8", "replace"))
        except socket.timeout:
            pass
        break
s.close()
