# fails: tcp-sink-client/lines-arrive
# edge: tcp-sink-client/lines-arrive
# Short connections (004 §7) where the sheet wants one long one: connects,
# sends one line and closes, for every line.  Each line goes somewhere, but
# the server's one connection carries only the first.
import socket

while True:
    send_data = input("please enter the sent data: ")
    if send_data == "exit":
        break
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", 8888))
    s.send(send_data.encode())
    s.close()
