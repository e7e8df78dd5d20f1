# Uses select() for its reply timeout and connect() on the UDP socket.
import select
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", 8090))
while True:
    try:
        line = input("> ")
    except EOFError:
        break
    s.send(line.encode("utf-8"))
    if select.select([s], [], [], 2.0)[0]:
        print("返回的数据是:", s.recv(65535).decode("utf-8", "replace"))
    else:
        print("超时：没有收到回复")
    if line == "exit":
        break
