# fails: udp-area-server/not-a-number
# edge: udp-area-server/not-a-number
# Guards float() with isalpha(): letters get an error text, but an empty
# radius (Enter pressed) is not alphabetic, reaches float() and crashes it.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    text = data.decode()
    if text.isalpha():
        s.sendto("输入错误：请输入数字".encode(), addr)
        continue
    r = float(text)
    s.sendto(("圆的面积为：" + str(3.14 * r * r)).encode(), addr)
