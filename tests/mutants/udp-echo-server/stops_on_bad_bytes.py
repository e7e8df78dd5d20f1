# fails: udp-echo-server/invalid-utf8
# edge: udp-echo-server/invalid-utf8
# Echoes, then decodes for printing; a payload that is not UTF-8 is caught
# (no traceback), but handled by leaving the loop: it stops serving.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8090))
while True:
    data, addr = s.recvfrom(4096)
    s.sendto(data, addr)
    try:
        print(addr, data.decode("utf-8"))
    except UnicodeDecodeError:
        print("收到的不是 UTF-8 文本，服务器退出")
        break
s.close()
