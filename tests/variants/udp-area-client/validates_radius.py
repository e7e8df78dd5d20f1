# Asks again until the radius is a number, then sends it as typed: the sheet
# asks for a radius and says nothing against checking it.
import socket
while True:
    r = input("Radius: ")
    try:
        float(r)
        break
    except ValueError:
        print("not a number, try again")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(r.encode("utf-8"), ("127.0.0.1", 8080))
print(s.recv(1024).decode("utf-8"))
s.close()
