"""TFTP against real implementations: the suite is right, the references interoperate.

Everything runs inside private network namespaces (the harness's sandbox or
``netgrade check``); the peers are Debian's packages unpacked by
``tests/tools/install-tftp-peers.sh`` (found through ``$NETGRADE_PEERS``, then
PATH; a missing one skips its tests with the reason).  How tftpd-hpa is made to
run as an unprivileged user id is explained in ``tests/tools/tftp_peers.py``.

1. The tftp-server suite graded against tftpd-hpa 5.2 (an RFC 1350/2347-2349
   server in use everywhere): every must check passes, so a must check that
   fails here is a bug in the suite.  Every should check passes too, except
   three where tftpd-hpa is stricter or quieter than the course sheet asks,
   each pinned below (``TFTPD_HPA_DIFFERENCES``) so that the note stays true:

   - wrong-port: tftpd-hpa ``connect()``s its transfer socket to the client,
     so the kernel drops a datagram from any other port before tftpd-hpa sees
     it: the transfer is undisturbed (checked) but the stranger gets no
     ERROR 5.  RFC 1350 §4 asks for the ERROR; the sheet keeps asking.
   - path-safety: with ``-s`` tftpd-hpa ``chroot()``s into its folder, so
     ``../../etc/passwd`` and ``/etc/passwd`` name files inside it that do not
     exist: ERROR 1 (File not found) instead of the sheet's ERROR 2; nothing
     outside is served either way.
   - malformed: a request with an unknown opcode is dropped without an answer
     (the server survives and serves the next request); the sheet asks for an
     ERROR (RFC 1350: code 4, illegal TFTP operation).

   The extra checks for uploads, netascii, options and the reference client
   pass as well.
2. Our reference client downloads correctly from tftpd-hpa and from atftpd.
3. curl's ``tftp://`` (options by default, ``--tftp-blksize``,
   ``--tftp-no-options``) and the tftp-hpa client download correctly from our
   reference server.
4. The tftp-client suite graded against tftp-hpa's and atftp's clients, run
   as real submissions often are: a filename fixed on the command line
   (``remote.bin``) and the download saved under a name of its own (``out``).
   The grader's server answers any name and the saved file is found by what
   changed in the client's folder, so each deviation costs its own check (rrq,
   saved-name) and every transfer check grades the transfer.  Where the two
   clients really differ from the sheet it is pinned below
   (``REAL_CLIENT_FAULTS``).
5. The faults real submissions make are named in the messages: the mutants
   in ``tests/mutants/tftp-client`` (a fixed filename, another saved name,
   swapped opcodes, append mode, a final block never ACKed, a symbolic link
   left as the saved file) are graded one check each and the message is
   asserted; ``tests/test_mutants.py`` asserts which checks fail.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MUTANTS, grade, submission_with

import netgrade.pack
import netgrade.runner
import netgrade.sandbox
from netgrade.evidence import Evidence
from netgrade.programs import References
from netgrade.savedfiles import read_capped
from netgrade.sandbox.netns import namespace_support

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
import tftp_peers  # tests/tools: where the peers are, how tftpd-hpa runs unprivileged

pytestmark = pytest.mark.skipif(namespace_support() != "netns",
                                reason="needs private network namespaces: real TFTP peers never run on the host")


def _binary(n: int) -> bytes:
    return bytes(((i * 37) ^ (i >> 8)) & 0xFF for i in range(n))


FILES = {
    "empty.bin": b"",
    "s511.bin": _binary(511),
    "s512.bin": _binary(512),
    "s1024.bin": _binary(1024),  # a multiple of 512 and of 1024: ends with an empty block either way
    "s1025.bin": _binary(1025),
    "text.txt": "第一行 TFTP\r\nsecond line\n\x00third\r".encode() * 50,
    "big.bin": _binary(300_000),  # 586 blocks of 512
}

# should checks where tftpd-hpa differs from the sheet (see the docstring), with what the suite says
TFTPD_HPA_DIFFERENCES = {
    "wrong-port": "the transfer went on undisturbed, but the packet from the wrong port got no answer",
    "path-safety": "got ERROR 1",
    "malformed": "unknown opcode 9",
}


@pytest.fixture
def box(tmp_path):
    """A sandbox (private network namespace) as a check gets one, and our references in it."""
    limits = netgrade.pack.load().limits
    sandbox = netgrade.sandbox.Sandbox(netgrade.sandbox.new_network(True), Evidence(),
                                      netgrade.runner.make_workbase(str(tmp_path)), limits)
    try:
        yield sandbox
    finally:
        sandbox.close()


def _server(box, argv: list[str], label: str):
    run = box.start(argv, label=label, files=FILES, host_view=True)  # a real server: a grader's tool
    if run.wait_listening("udp", 69, box.limits.ready_s) is None:
        pytest.fail(f"{label} did not bind UDP 69: {run.crash_summary()}\n{run.err[-1500:]}")
    return run


def _finish(run, what: str, timeout: float = 10.0) -> int:
    code = run.wait_exit(timeout)
    if code is None:
        pytest.fail(f"{what}: still running after {timeout:g} s\n{run.out[-1500:]}\n{run.err[-1500:]}")
    return code


def _reference_client(box, name: str):
    run = References(box, netgrade.pack.load()).start("tftp-client", stdin=name)
    code = _finish(run, f"reference client fetching {name!r}")
    return code, _saved(run, "client_" + name), run


def _saved(run, name: str) -> bytes | None:
    """What ``run`` saved as ``name`` in its work folder (None: nothing there)."""
    data, _, _ = read_capped(run.work, name, 16 * 2**20)
    return data


# ------------------------------------------------------------ 1. the suite against tftpd-hpa

def test_server_suite_against_tftpd_hpa(tmp_path):
    if why := tftp_peers.tftpd_hpa_missing():
        pytest.skip(why)
    empty = tmp_path / "submission"
    empty.mkdir()
    command = " ".join(tftp_peers.tftpd_hpa())
    result, proc = grade(empty, "--program", "tftp-server", "--run", f"tftp-server={command}", tmp=tmp_path)
    assert result["status"] == "graded", result.get("message")
    checks = {c["id"]: c for p in result["programs"] for c in p["checks"]}
    assert checks, proc.stdout[-2000:]
    table = "\n".join(f"{c['level']:6} {c['status']:5} {k}: {c['message'][:160]}" for k, c in checks.items())
    assert not [k for k, c in checks.items() if c["status"] == "error"], table
    bad_must = [k for k, c in checks.items() if c["level"] == "must" and c["status"] != "pass"]
    assert not bad_must, f"tftpd-hpa fails must checks (the suite is wrong):\n{table}"
    bad_should = {k for k, c in checks.items() if c["level"] == "should" and c["status"] != "pass"}
    assert bad_should == set(TFTPD_HPA_DIFFERENCES), f"should checks differ from the documented set:\n{table}"
    for key, said in TFTPD_HPA_DIFFERENCES.items():
        assert said in checks[key]["message"], f"{key}: the documented difference changed:\n{table}"
    extras = ("upload", "netascii", "options", "with-reference")
    assert all(checks[k]["status"] == "pass" for k in extras), table


# ------------------------------------------------------------ 2. our client against real servers

@pytest.mark.parametrize("server", ["tftpd-hpa", "atftpd"])
def test_reference_client_downloads_from_real_servers(box, server):
    if server == "tftpd-hpa":
        why, argv = tftp_peers.tftpd_hpa_missing(), tftp_peers.tftpd_hpa()
    else:
        why, argv = tftp_peers.missing("atftpd"), tftp_peers.atftpd()
    if why:
        pytest.skip(why)
    srv = _server(box, argv, server)
    for name, want in FILES.items():
        code, saved, run = _reference_client(box, name)
        assert code == 0, f"{name} from {server}: exit {code}\n{run.out}\n{run.err[-1500:]}\n{srv.err[-1500:]}"
        assert saved == want, f"{name} from {server}: saved file differs"
    code, saved, run = _reference_client(box, "no_such_file.bin")
    assert code == 1 and saved is None, f"missing file from {server}: exit {code}, {run.out}"
    assert "ERROR 1" in run.out, run.out


# ------------------------------------------------------------ 3. real clients against our server

def _reference_server(box):
    return References(box, netgrade.pack.load()).start("tftp-server", files=FILES)


CURL_VARIANTS = {
    "default options": [],  # curl asks for blksize 512 and tsize
    "blksize 1024": ["--tftp-blksize", "1024"],
    "blksize 1468": ["--tftp-blksize", "1468"],
    "blksize 8": ["--tftp-blksize", "8"],
    "no options": ["--tftp-no-options"],
}


def test_curl_downloads_from_reference_server(box):
    if why := tftp_peers.missing("curl"):
        pytest.skip(why)
    _reference_server(box)
    curl = tftp_peers.find("curl")
    for variant, flags in CURL_VARIANTS.items():
        names = ["s1024.bin", "s1025.bin", "text.txt"] if variant == "blksize 8" else list(FILES)
        if flags != ["--tftp-no-options"]:
            # curl 7.88 rejects "tsize 0" in an OACK (exit 71), which every server sends for an empty
            # file (tftpd-hpa and atftpd alike): an empty file only comes through without options
            names = [n for n in names if FILES[n]]
        for name in names:
            run = box.start([curl, "-sS", "--max-time", "10", *flags, f"tftp://127.0.0.1/{name}", "-o", "out"],
                            label=f"curl {variant} {name}", host_view=True)
            code = _finish(run, f"curl ({variant}) {name}", 15.0)
            assert code == 0, f"curl ({variant}) {name}: exit {code}: {run.err[-800:]}"
            got = _saved(run, "out") or b""
            assert got == FILES[name], f"curl ({variant}) {name}: {len(got)} bytes, expected {len(FILES[name])}"
    run = box.start([curl, "-sS", "tftp://127.0.0.1/no_such_file.bin", "-o", "out"], label="curl missing",
                    host_view=True)
    assert _finish(run, "curl missing file") == 68, run.err  # 68: TFTP "file not found"


def test_tftp_hpa_client_downloads_from_reference_server(box):
    if why := tftp_peers.missing("tftp"):
        pytest.skip(why)
    _reference_server(box)
    tftp = tftp_peers.find("tftp")
    for mode in ("octet", "netascii"):
        for name, want in FILES.items():
            run = box.start([tftp, "-m", mode, "127.0.0.1", "69", "-c", "get", name, "out"],
                            label=f"tftp-hpa {mode} {name}", host_view=True)
            _finish(run, f"tftp-hpa {mode} {name}")  # it exits 0 even after an ERROR: the file tells
            got = _saved(run, "out")
            # netascii is converted back to the local convention, so the bytes come back unchanged
            assert got == want, f"tftp-hpa {mode} {name}: {None if got is None else len(got)} bytes"
    run = box.start([tftp, "-m", "octet", "127.0.0.1", "69", "-c", "get", "no_such_file.bin", "out"],
                    label="tftp-hpa missing", host_view=True)
    _finish(run, "tftp-hpa missing file")
    assert "File not found" in run.out + run.err, run.out + run.err



# ------------------------------------------------------------ 4. real clients graded as students' clients

# the must and should checks each real client fails when run as `CLIENT ... remote.bin out`, and why
REAL_CLIENT_FAULTS = {
    "tftp-hpa": {
        "rrq": "the RRQ asks for 'remote.bin'; the filename typed on stdin was",
        "saved-name": "saved as 'out'; the sheet says 'client_remote.bin'",
        # it takes DATA from any port, and creates its output before the first reply
        "wrong-port": "was answered with ACK #2: it was taken for the server",
        "no-empty-file": "left 'out' (0 bytes) behind",
    },
    "atftp": {
        "rrq": "the RRQ asks for 'remote.bin'; the filename typed on stdin was",
        "saved-name": "saved as 'out'; the sheet says 'client_remote.bin'",
        "no-empty-file": "left 'out' (0 bytes) behind",
    },
}


@pytest.mark.parametrize("client", sorted(REAL_CLIENT_FAULTS))
def test_client_suite_against_real_clients(tmp_path, client):
    binary = "tftp" if client == "tftp-hpa" else "atftp"
    if why := tftp_peers.missing(binary):
        pytest.skip(why)
    path = tftp_peers.find(binary)
    command = (f"{path} -m octet 127.0.0.1 69 -c get remote.bin out" if client == "tftp-hpa"
               else f"{path} --get -r remote.bin -l out 127.0.0.1 69")
    empty = tmp_path / "submission"
    empty.mkdir()
    result, _ = grade(empty, "--program", "tftp-client", "--run", f"tftp-client={command}", tmp=tmp_path)
    assert result["status"] == "graded", result.get("message")
    checks = {c["id"]: c for p in result["programs"] for c in p["checks"]}
    table = "\n".join(f"{c['level']:6} {c['status']:5} {k}: {c['message'][:160]}" for k, c in checks.items())
    failing = {k for k, c in checks.items() if c["level"] in ("must", "should") and c["status"] != "pass"}
    assert failing == set(REAL_CLIENT_FAULTS[client]), f"{client}:\n{table}"
    for key, said in REAL_CLIENT_FAULTS[client].items():
        assert said in checks[key]["message"], f"{client} {key}:\n{table}"


# ------------------------------------------------------------ 5. named faults

_GRADE_ONLY = """
import json, sys
from netgrade.grading import Options, grade
from netgrade.pack import load
result = grade(sys.argv[1], load(), Options(programs=[sys.argv[2]], only_checks=sys.argv[3:]))
print(json.dumps(result.to_dict()))
"""

# mutant -> (the check graded, words its message must hold)
NAMED_FAULTS = {
    "tftp-client/hardcoded_filename": (
        "rrq", "the RRQ asks for 'test.txt'; the filename typed on stdin was 'hello.txt': the name is fixed"),
    "tftp-client/saved_without_prefix": ("saved-name", "saved as 'hello.txt'; the sheet says 'client_hello.txt'"),
    "tftp-client/rrq_opcode_2": (
        "rrq", "opcode 2 (WRQ, a write request: an upload) where opcode 1 (RRQ, a read request: a download) belongs"),
    "tftp-client/ack_opcode_3": (
        "acks", "opcode 3 (DATA, a block of the file) where opcode 4 (ACK, an acknowledgement) belongs"),
    "tftp-client/append_mode": (
        "content", ("the file grew to 4200+2600 = 6800 bytes, the old content followed by the new: "
                    "it was opened in append mode ('ab'), not 'wb'")),
    "tftp-client/no_ack_for_last_block": (
        "acks", ("the final block #3 (0 bytes, shorter than 512) was never ACKed: "
                 "the server cannot know the transfer ended")),
    "tftp-client/leaves_symlink": (
        "content", "'client_empty.txt', which is a symbolic link to '/etc/passwd', not followed"),
    "tftp-server/data_opcode_4": (
        "new-port", "opcode 4 (ACK, an acknowledgement) where opcode 3 (DATA, a block of the file) belongs"),
}


@pytest.mark.parametrize("mutant", sorted(NAMED_FAULTS))
def test_fault_is_named(tmp_path, mutant):
    program_id, name = mutant.split("/")
    check, words = NAMED_FAULTS[mutant]
    file = "tftp_client.py" if program_id == "tftp-client" else "tftp_server.py"
    sub = submission_with(tmp_path, {file: MUTANTS / program_id / f"{name}.py"})
    proc = subprocess.run([sys.executable, "-c", _GRADE_ONLY, str(sub), program_id, f"{program_id}/{check}"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["status"] == "graded", result.get("message")
    checks = {c["id"]: c for p in result["programs"] for c in p["checks"]}
    assert checks[check]["status"] == "fail", checks
    assert words in checks[check]["message"], checks[check]["message"]
    if name == "leaves_symlink":  # nothing of the file behind the link reaches the result
        assert "root:" not in json.dumps(result)
