# fails: tcp-thanks-client/prints-reply
# edge: tcp-thanks-client/prints-reply
# Receives the reply but prints the text it expects, not what came: right
# only while the server's reply is exactly that text.
import socket

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.connect(("127.0.0.1", 8088))
line = input("请输入要发送的数据：")
c.send(line.encode("utf-8"))
c.recv(1024)
print("Thank you!")
c.close()
