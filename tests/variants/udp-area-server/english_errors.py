# Error texts in its own words (the sheet names none), for a word and for an
# empty radius alike; areas as the sheet says.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8080))
while True:
    data, addr = s.recvfrom(1024)
    text = data.decode("utf-8", "replace").strip()
    try:
        r = float(text)
        reply = "圆的面积为：" + str(3.14 * r * r)
    except ValueError:
        reply = "Error: the radius must be a number, got %r" % text
    s.sendto(reply.encode("utf-8"), addr)
