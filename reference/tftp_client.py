"""tftp-client (sheet: TFTP / tftp-client; notes 001 §3.2; RFC 1350).

Reads a filename from stdin, sends a read request (RRQ, `octet`) to
127.0.0.1:69 and saves the download as `client_<filename>` in the working
directory.  The first reply fixes the server's transfer ID (its port): every
ACK goes there, and packets from any other port get ERROR 5 and are ignored.

Every DATA block is acknowledged, the last one included (RFC 1350 §6); the
download ends with the first block shorter than 512 bytes.  A repeated block
(the server did not get our ACK) is acknowledged again but written once.  When
nothing comes within the timeout, the last packet (the RRQ or the last ACK) is
sent again, a bounded number of times.

When the server answers with ERROR, the message is printed and the client
exits with status 1; the output file is only created with the first DATA block
and removed again if the download fails, so no empty or partial
`client_<filename>` is left behind.
"""
import argparse
import os
import select
import socket
import sys
import time

try:  # run by netgrade
    from netgrade.protocols import tftp
except ImportError:  # exported (`netgrade reference export`): the codec is written beside this program
    import tftp_codec as tftp


def download(sock, server, filename, out_path, timeout, retries):
    """Fetch ``filename`` into ``out_path``; returns the number of bytes, raises RuntimeError on failure."""
    last = tftp.rrq(filename, "octet")
    dest = server  # the RRQ goes to port 69; everything after it to the server's TID
    tid = None
    expected = 1  # the index of the block we wait for (its number on the wire wraps at 65536)
    received = 0
    out = None
    tries = 0
    try:
        sock.sendto(last, dest)
        while True:
            ready, _, _ = select.select([sock], [], [], timeout)
            if not ready:
                tries += 1
                if tries > retries:
                    raise RuntimeError(f"没有收到服务器的数据 (no answer after {retries + 1} tries)")
                sock.sendto(last, dest)  # the RRQ or the last ACK again
                continue
            try:
                raw, addr = sock.recvfrom(65536)
            except ConnectionRefusedError:
                raise RuntimeError("服务器不可达 (nothing listens on the server's port)") from None
            if tid is None and addr[0] == server[0]:
                tid = dest = addr  # the first reply fixes the server's transfer ID
            elif addr != tid:
                sock.sendto(tftp.error(5, "Unknown transfer ID"), addr)
                continue
            try:
                packet = tftp.decode(raw)
            except tftp.TftpDecodeError as exc:
                sock.sendto(tftp.error(4, str(exc)), dest)
                raise RuntimeError(f"malformed packet from the server: {exc}") from None
            if isinstance(packet, tftp.Error):
                raise RuntimeError(f"服务器返回：{packet.message} (ERROR {packet.code})")
            if not isinstance(packet, tftp.Data):
                sock.sendto(tftp.error(4, "expected DATA"), dest)
                raise RuntimeError(f"unexpected {tftp.describe(packet)} from the server")
            tries = 0
            if packet.block == tftp.block_number(expected):
                if out is None:
                    out = open(out_path, "wb")
                out.write(packet.data)
                received += len(packet.data)
                last = tftp.ack(packet.block)
                sock.sendto(last, dest)
                if len(packet.data) < tftp.BLOCK_SIZE:
                    break
                expected += 1
            elif packet.block == tftp.block_number(expected - 1):
                sock.sendto(tftp.ack(packet.block), dest)  # our ACK was lost: acknowledge again, write nothing
        out.close()
        out = None
        return received
    finally:
        if out is not None:  # the download failed: leave no partial file behind
            out.close()
            os.unlink(out_path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="TFTP download client.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=69)
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds before the last packet is sent again")
    parser.add_argument("--retries", type=int, default=5)
    args = parser.parse_args(argv)

    try:
        filename = input("请输入文件名字:")
    except EOFError:
        print()
        return 1
    out_path = "client_" + filename
    started = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            size = download(sock, (args.host, args.port), filename, out_path, args.timeout, args.retries)
        except RuntimeError as why:
            print(why)
            return 1
    print(f"客户端下载成功: {out_path}, {size} 字节, {time.monotonic() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
