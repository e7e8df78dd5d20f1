# fails: udp-echo-client/lost-reply
# Has a timeout, but swallows it without a word.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
while True:
    try:
        line = input()
    except EOFError:
        break
    s.sendto(line.encode(), ("127.0.0.1", 8090))
    try:
        reply = s.recvfrom(1024)[0].decode()
        print("返回的数据是:", reply)
    except socket.timeout:
        pass
    if line == "exit":
        break
