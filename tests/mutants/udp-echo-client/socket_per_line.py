# fails: udp-echo-client/one-socket
# Opens a new socket (a new source port) for every line.
import socket
while True:
    try:
        line = input("请输入数据：")
    except EOFError:
        break
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(line.encode(), ("127.0.0.1", 8090))
        try:
            print("返回的数据是:", s.recvfrom(1024)[0].decode())
        except socket.timeout:
            print("timeout")
    if line == "exit":
        break
