# fails: udp-echo-client/one-socket
# edge: udp-echo-client/one-socket
# One socket for the session, until a reply is lost: on a timeout it says so,
# closes the socket and opens a new one (a new source port) "to start clean".
import socket


def new_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    return s


s = new_socket()
while True:
    try:
        line = input("请输入数据：")
    except EOFError:
        break
    s.sendto(line.encode("utf-8"), ("127.0.0.1", 8090))
    try:
        print("返回的数据是:", s.recvfrom(4096)[0].decode("utf-8", "replace"))
    except socket.timeout:
        print("超时：没有收到回复，重新创建套接字")
        s.close()
        s = new_socket()
    if line == "exit":
        break
s.close()
