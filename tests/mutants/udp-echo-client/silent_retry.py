# fails: udp-echo-client/lost-reply
# edge: udp-echo-client/lost-reply
# Has a timeout, but recovers by another route: it sends the line again,
# silently, until an echo comes; it never says that a reply was lost.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
while True:
    try:
        line = input("请输入数据：")
    except EOFError:
        break
    while True:
        s.sendto(line.encode("utf-8"), ("127.0.0.1", 8090))
        try:
            data = s.recvfrom(4096)[0]
            break
        except socket.timeout:
            continue
    print("返回的数据是:", data.decode("utf-8", "replace"))
    if line == "exit":
        break
s.close()
