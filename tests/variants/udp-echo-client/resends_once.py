# Prompts and messages in English; on a lost reply it says so and sends the
# line once more (from the same socket) before going on: a timeout and a message.
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
while True:
    try:
        line = input("say something (exit to quit)> ")
    except EOFError:
        break
    for attempt in (1, 2):
        s.sendto(line.encode("utf-8"), ("127.0.0.1", 8090))
        try:
            print("echo:", s.recvfrom(4096)[0].decode("utf-8", "replace"))
            break
        except socket.timeout:
            print("no reply within 1.5 s" + (", sending it again" if attempt == 1 else ", giving up"))
    if line == "exit":
        break
s.close()
