"""Benchmark: TFTP download throughput of the reference server next to tftpd-hpa.

    python bench/bench_tftp.py [--size-mib 10] [--repeat 3] [--blksize 512]

Both servers serve the same file inside one private network namespace (the
reference on UDP 69, tftpd-hpa on UDP 6969, started as the tests start them:
tests/tools/tftp_peers.py) and the same client, curl, downloads it from each in
turn, ``--repeat`` times.  Throughput is curl's own transfer time
(``%{time_total}``), so starting curl is not counted; every download is checked
byte for byte.  It prints MiB/s per server (best and median) and the ratio
reference / tftpd-hpa.  Target (issue 21): >= 0.9 with 512-byte blocks.

Lock-step TFTP is bound by round trips: each 512-byte block waits for its ACK,
so the figure measures per-packet latency of server and client together.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "tools"))
sys.path.insert(0, str(ROOT))

import tftp_peers

import netgrade.pack
import netgrade.runner
import netgrade.sandbox
from netgrade.evidence import Evidence
from netgrade.programs import References
from netgrade.savedfiles import read_capped

HPA_PORT = 6969


def content(size: int) -> bytes:
    """Bytes no compression or conversion keeps unchanged, with every value present."""
    block = bytes(((i * 37) ^ (i >> 8)) & 0xFF for i in range(65536))
    return (block * (size // len(block) + 1))[:size]


def download(box, curl: str, port: int, blksize: int, want: bytes) -> float:
    """Seconds curl took to fetch big.bin from the server on ``port``."""
    flags = [] if blksize == 512 else ["--tftp-blksize", str(blksize)]  # curl asks for 512 by default
    run = box.start([curl, "-sS", "--max-time", "120", *flags, "-w", "%{time_total}",
                     f"tftp://127.0.0.1:{port}/big.bin", "-o", "out"], label=f"curl :{port}", host_view=True)
    code = run.wait_exit(130)
    if code != 0:
        raise SystemExit(f"curl from port {port} failed (exit {code}): {run.err[-500:]}")
    got, _, _ = read_capped(run.work, "out", len(want) + 1)
    if got != want:
        raise SystemExit(f"curl from port {port}: the file differs ({len(got)} bytes of {len(want)})")
    return float(run.out.strip())


def measure(size: int, repeat: int, blksize: int) -> dict[str, list[float]] | str:
    """curl's download times from each server, interleaved ``repeat`` times; or why it cannot run here."""
    for why in (tftp_peers.tftpd_hpa_missing(), tftp_peers.missing("curl")):
        if why:
            return why
    data = content(size)
    pack = netgrade.pack.load()
    with tempfile.TemporaryDirectory() as tmp:
        box = netgrade.sandbox.Sandbox(netgrade.sandbox.new_network(True), Evidence(),
                                      netgrade.runner.make_workbase(tmp), pack.limits)
        try:
            if not box.isolated:
                return "no private network namespace on this machine"
            ref = References(box, pack).start("tftp-server", files={"big.bin": data})
            hpa = box.start(tftp_peers.tftpd_hpa(port=HPA_PORT), label="tftpd-hpa", files={"big.bin": data},
                            host_view=True)
            if hpa.wait_listening("udp", HPA_PORT, 5.0) is None:
                raise SystemExit(f"tftpd-hpa did not start: {hpa.crash_summary()}")
            curl = tftp_peers.find("curl")
            times: dict[str, list[float]] = {"reference": [], "tftpd-hpa": []}
            for _ in range(repeat):  # interleaved, so a busy moment hits both alike
                times["reference"].append(download(box, curl, 69, blksize, data))
                times["tftpd-hpa"].append(download(box, curl, HPA_PORT, blksize, data))
            if not ref.running:
                raise SystemExit(f"the reference server ended: {ref.crash_summary()}")
        finally:
            box.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--blksize", type=int, default=512)
    args = ap.parse_args()
    size = int(args.size_mib * 1024 * 1024)
    times = measure(size, args.repeat, args.blksize)
    if isinstance(times, str):
        print(f"bench_tftp: skipped: {times}")
        return 0
    mib = size / (1024 * 1024)
    print(f"TFTP download of {mib:g} MiB, blksize {args.blksize}, client curl, {args.repeat} runs each, "
          "one network namespace")
    print(f"  {'server':<10} {'best MiB/s':>11} {'median MiB/s':>13}   runs (s)")
    best = {}
    for name, ts in times.items():
        best[name] = mib / min(ts)
        print(f"  {name:<10} {best[name]:>11.2f} {mib / statistics.median(ts):>13.2f}   "
              + " ".join(f"{t:.2f}" for t in ts))
    ratio = best["reference"] / best["tftpd-hpa"]
    print(f"  ratio reference / tftpd-hpa (best runs): {ratio:.2f} (target >= 0.9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
