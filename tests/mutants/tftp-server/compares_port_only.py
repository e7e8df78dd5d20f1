# fails: tftp-server/wrong-port
# edge: tftp-server/wrong-port
# Keeps the client's address as (client_ip, client_port), the notes' way, and checks only the port:
# a packet from another port gets ERROR 5, one from the client's port number on another address is
# taken for the client's.
from socket import *
import os
import struct
import threading
import time

ROOT = os.path.realpath('.')
TIMEOUT = 1.0  # seconds before a block is sent again
RETRIES = 5


def error_packet(code, message):
    return struct.pack('!HH', 5, code) + message.encode('utf-8') + b'\x00'


def parse_request(data):
    if len(data) < 2:
        raise ValueError('packet too short')
    opcode = struct.unpack('!H', data[:2])[0]
    if opcode not in (1, 2):
        raise ValueError('unknown opcode %d' % opcode)
    parts = data[2:].split(b'\x00')
    if len(parts) < 3 or not parts[0] or not parts[1]:
        raise ValueError('bad request')
    return opcode, parts[0].decode('utf-8', 'replace'), parts[1].decode('ascii', 'replace')


def safe_path(name):
    if os.path.isabs(name):
        return None
    path = os.path.realpath(os.path.join(ROOT, name))
    if os.path.commonpath([ROOT, path]) != ROOT:
        return None
    return path


def send_block(sock, client, block, packet):
    """Send packet until the ACK of block arrives; False when the client is gone."""
    for _ in range(RETRIES):
        sock.sendto(packet, client)
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, addr = sock.recvfrom(1024)
            except timeout:
                break
            ip, port = addr
            if port != client[1]:
                sock.sendto(error_packet(5, 'Unknown transfer ID'), addr)
                continue
            if len(data) < 4:
                continue
            opcode, num = struct.unpack('!HH', data[:4])
            if opcode == 4 and num == block:
                return True
            if opcode == 5:
                return False
            # an old ACK: ignore it, only a timeout sends the block again
    return False


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def download(name, mode, client):
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.bind(('', 0))
    try:
        if mode.lower() != 'octet':
            sock.sendto(error_packet(4, 'only octet mode'), client)
            return
        path = safe_path(name)
        if path is None:
            sock.sendto(error_packet(2, 'Access violation'), client)
            return
        try:
            content = read_file(path)
        except FileNotFoundError:
            sock.sendto(error_packet(1, 'File not found'), client)
            return
        except OSError:
            sock.sendto(error_packet(2, 'Access violation'), client)
            return
        num = 1
        while True:
            chunk = content[(num - 1) * 512:num * 512]
            packet = struct.pack('!HH', 3, num & 0xFFFF) + chunk
            if not send_block(sock, client, num & 0xFFFF, packet):
                print('客户端 %s 没有回应' % (client,))
                return
            if len(chunk) < 512:
                print('客户端 %s 下载完成: %s' % (client, name))
                return
            num += 1
    finally:
        sock.close()


def main():
    s = socket(AF_INET, SOCK_DGRAM)
    s.bind(('', 69))
    while True:
        data, client = s.recvfrom(1024)
        try:
            opcode, name, mode = parse_request(data)
        except ValueError as e:
            s.sendto(error_packet(4, str(e)), client)
            continue
        if opcode != 1:
            s.sendto(error_packet(4, 'only downloads'), client)
            continue
        threading.Thread(target=download, args=(name, mode, client), daemon=True).start()


if __name__ == '__main__':
    main()
