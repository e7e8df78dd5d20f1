# fails: tftp-server/port
# edge: tftp-server/port
# A correct server (the select-loop variant) on 6969, the usual unprivileged TFTP port, instead of 69: only the port check fails (the grader finds and grades it where it listens).
# A correct server written another way: one thread and one select() loop over the listening socket and
# every transfer's socket, with a deadline per transfer for the retransmission, so any number of
# downloads go on at once without threads.
import os
import select
import time
from socket import AF_INET, SOCK_DGRAM, socket

ROOT = os.path.realpath('.')
TIMEOUT, RETRIES = 1.0, 5


def error(code, message):
    return (5).to_bytes(2, 'big') + code.to_bytes(2, 'big') + message.encode() + b'\x00'


class Transfer:
    def __init__(self, client, content):
        self.client = client
        self.content = content
        self.sock = socket(AF_INET, SOCK_DGRAM)
        self.sock.bind(('', 0))
        self.block = 0
        self.tries = 0
        self.next_block()

    def packet(self):
        chunk = self.content[(self.block - 1) * 512:self.block * 512]
        return (3).to_bytes(2, 'big') + (self.block & 0xFFFF).to_bytes(2, 'big') + chunk, len(chunk) < 512

    def next_block(self):
        self.block += 1
        self.tries = 0
        self.send()

    def send(self):
        self.sock.sendto(self.packet()[0], self.client)
        self.deadline = time.monotonic() + TIMEOUT

    def on_packet(self, data, addr):
        """False when the transfer is over."""
        if addr != self.client:
            self.sock.sendto(error(5, 'Unknown transfer ID'), addr)
            return True
        if data[:2] == b'\x00\x05':
            return False
        if data[:2] == b'\x00\x04' and int.from_bytes(data[2:4], 'big') == self.block & 0xFFFF:
            if self.packet()[1]:
                return False  # the last block is acknowledged
            self.next_block()
        return True  # an old or duplicate ACK changes nothing

    def on_timeout(self):
        self.tries += 1
        if self.tries > RETRIES:
            return False
        self.send()
        return True


def request(data):
    """(name, mode) of an RRQ, or an ERROR packet for anything else."""
    if data[:2] != b'\x00\x01':
        return None, error(4, 'Illegal TFTP operation')
    parts = data[2:].split(b'\x00')
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None, error(4, 'Malformed request')
    return (parts[0].decode('utf-8', 'replace'), parts[1].decode('ascii', 'replace')), None


def open_file(name, mode):
    if mode.lower() != 'octet':
        return None, error(0, 'Only octet is supported')
    path = os.path.realpath(os.path.join(ROOT, name))
    if os.path.isabs(name) or not path.startswith(ROOT + os.sep):
        return None, error(2, 'Access violation')
    try:
        with open(path, 'rb') as f:
            return f.read(), None
    except FileNotFoundError:
        return None, error(1, 'File not found')
    except OSError:
        return None, error(2, 'Access violation')


def main():
    listen = socket(AF_INET, SOCK_DGRAM)
    listen.bind(('0.0.0.0', 6969))
    transfers = {}  # socket -> Transfer
    while True:
        now = time.monotonic()
        wait = min([t.deadline - now for t in transfers.values()] + [1.0])
        ready, _, _ = select.select([listen, *transfers], [], [], max(0.0, wait))
        for sock in ready:
            data, addr = sock.recvfrom(65536)
            if sock is listen:
                req, err = request(data)
                content = None
                if req is not None:
                    content, err = open_file(*req)
                if err is not None:
                    reply = socket(AF_INET, SOCK_DGRAM)
                    reply.sendto(err, addr)
                    reply.close()
                    continue
                t = Transfer(addr, content)
                transfers[t.sock] = t
            elif not transfers[sock].on_packet(data, addr):
                transfers.pop(sock).sock.close()
        now = time.monotonic()
        for sock, t in list(transfers.items()):
            if t.deadline <= now and not t.on_timeout():
                transfers.pop(sock).sock.close()


main()
