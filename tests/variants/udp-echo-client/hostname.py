# Sends to the address socket.gethostname() resolves to (the seeds' way; correct per the sheet).
import socket
host = socket.gethostname()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
while True:
    try:
        line = input("发送: ")
    except EOFError:
        break
    s.sendto(line.encode("utf-8"), (host, 8090))
    try:
        print("返回的数据是:", s.recvfrom(65535)[0].decode("utf-8"))
    except socket.timeout:
        print("no reply within 3 s")
    if line == "exit":
        break
s.close()
