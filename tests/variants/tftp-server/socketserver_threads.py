# A correct server written another way: socketserver.ThreadingUDPServer takes the requests on port 69,
# and each handler thread opens a socket of its own (a new port: the transfer ID) for the download.
import os
import socket
import socketserver
import struct

ROOT = os.path.realpath(os.getcwd())


def error(code, text):
    return struct.pack('!HH', 5, code) + text.encode() + b'\0'


class Download(socketserver.BaseRequestHandler):
    def handle(self):
        data, _listen = self.request
        client = self.client_address
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(('', 0))
        sock.settimeout(1.0)
        try:
            self.serve(sock, data, client)
        finally:
            sock.close()

    def serve(self, sock, data, client):
        fields = data[2:].split(b'\0')
        if len(data) < 4 or data[:2] != b'\x00\x01' or len(fields) < 3 or not fields[0] or not fields[1]:
            sock.sendto(error(4, 'Illegal TFTP operation'), client)
            return
        name = fields[0].decode('utf-8', 'replace')
        if fields[1].decode('ascii', 'replace').lower() != 'octet':
            sock.sendto(error(0, 'Only octet mode'), client)
            return
        path = os.path.realpath(os.path.join(ROOT, name))
        if os.path.isabs(name) or os.path.commonpath([ROOT, path]) != ROOT:
            sock.sendto(error(2, 'Access violation'), client)
            return
        if not os.path.isfile(path):
            sock.sendto(error(1, 'File not found'), client)
            return
        with open(path, 'rb') as f:
            content = f.read()
        block = 1
        while True:
            chunk = content[(block - 1) * 512:block * 512]
            packet = struct.pack('!HH', 3, block % 65536) + chunk
            if not self.send_and_wait(sock, client, packet, block % 65536):
                return
            if len(chunk) < 512:
                return
            block += 1

    @staticmethod
    def send_and_wait(sock, client, packet, block):
        """Send one DATA until its ACK comes (5 tries); ACKs of older blocks are ignored."""
        for _ in range(5):
            sock.sendto(packet, client)
            while True:
                try:
                    reply, addr = sock.recvfrom(1024)
                except socket.timeout:
                    break  # send the block again
                if addr != client:
                    sock.sendto(error(5, 'Unknown transfer ID'), addr)
                    continue
                if reply[:2] == b'\x00\x05':
                    return False
                if reply[:2] == b'\x00\x04' and struct.unpack('!H', reply[2:4])[0] == block:
                    return True
        return False


class Server(socketserver.ThreadingUDPServer):
    daemon_threads = True
    max_packet_size = 65536


if __name__ == '__main__':
    with Server(('', 69), Download) as server:
        print('TFTP server on port 69')
        server.serve_forever()
