# fails: tftp-server/new-port
# edge: tftp-server/new-port
# Correct but for the transfer ID: answers from a port other than 69, but from ONE transfer socket made at
# start-up, so every download comes from the same port (routed by client address); the sheet asks a NEW port.
import os
import select
import time
from socket import AF_INET, SOCK_DGRAM, socket

ROOT = os.path.realpath('.')
TIMEOUT, RETRIES = 1.0, 5


def error(code, message):
    return (5).to_bytes(2, 'big') + code.to_bytes(2, 'big') + message.encode() + b'\x00'


SHARED = socket(AF_INET, SOCK_DGRAM)
SHARED.bind(('', 0))  # one transfer socket, made once: every download gets the same port


class Transfer:
    def __init__(self, client, content):
        self.client = client
        self.content = content
        self.sock = SHARED
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
    listen.bind(('0.0.0.0', 69))
    transfers = {}  # client address -> Transfer
    while True:
        now = time.monotonic()
        wait = min([t.deadline - now for t in transfers.values()] + [1.0])
        ready, _, _ = select.select([listen, SHARED], [], [], max(0.0, wait))
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
                transfers[addr] = Transfer(addr, content)
            elif addr not in transfers:
                SHARED.sendto(error(5, 'Unknown transfer ID'), addr)
            elif not transfers[addr].on_packet(data, addr):
                del transfers[addr]
        now = time.monotonic()
        for addr, t in list(transfers.items()):
            if t.deadline <= now and not t.on_timeout():
                del transfers[addr]


main()
