"""Submissions: folders and archives, safe unpacking, finding programs, --run."""
from __future__ import annotations

import os
import tarfile
import zipfile

import pytest

from conftest import checks_by_status, grade, netgrade, submission_with
from netgrade.pack import load
from netgrade.submission import SubmissionError, locate, open_submission


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_zip_with_dotdot_is_refused_and_writes_nothing(tmp_path):
    victim = tmp_path / "escaped.txt"
    z = _zip(tmp_path / "evil.zip", {"udp_send.py": "print(1)", "../escaped.txt": "pwned"})
    with pytest.raises(SubmissionError, match=r"'\.\./escaped\.txt' escapes"):
        open_submission(z)
    assert not victim.exists()


def test_zip_with_absolute_path_is_refused(tmp_path):
    z = _zip(tmp_path / "abs.zip", {"/tmp/netgrade-abs-test": "x"})
    with pytest.raises(SubmissionError, match="absolute path"):
        open_submission(z)
    assert not os.path.exists("/tmp/netgrade-abs-test")


def test_tar_with_link_out_is_refused(tmp_path):
    t = tmp_path / "evil.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tf.addfile(info)
    with pytest.raises(SubmissionError, match="link pointing outside"):
        open_submission(t)


def test_cli_refuses_evil_archive_exit_2(tmp_path):
    z = _zip(tmp_path / "evil.zip", {"../../x.py": "print(1)"})
    out = tmp_path / "r.json"
    proc = netgrade("check", str(z), "--json", str(out))
    assert proc.returncode == 2 and "refusing the archive" in proc.stderr
    assert '"status": "error"' in out.read_text()  # a result file on every path


def test_tar_gz_submission_is_graded(tmp_path, exported):
    t = tmp_path / "alice.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        tf.add(exported / "udp_send.py", arcname="alice/lab1/udp_send.py")
    result, proc = grade(t, "--program", "udp-send", tmp=tmp_path)
    assert result["submission"] == "alice"
    assert result["programs"][0]["file"] == "alice/lab1/udp_send.py"
    assert checks_by_status(result) == {"pass": {"udp-send/one-datagram", "udp-send/exits",
                                                 "udp-send/non-ascii-and-long", "udp-send/port"}}


def test_case_insensitive_aliases_and_missing(tmp_path, exported):
    sub = submission_with(tmp_path, {"UDP_Send.PY": exported / "udp_send.py",
                                     "sub/udpRecv.py": exported / "udp_recv.py"})
    located = locate(open_submission(sub), load())
    assert located["udp-send"].file == "UDP_Send.PY"
    assert located["udp-recv"].file == "sub/udpRecv.py" and "sheet's name is udp_recv.py" in located["udp-recv"].note
    assert located["udp-echo-server"].status == "missing"


def test_missing_program_is_reported_and_others_graded(tmp_path, exported):
    sub = submission_with(tmp_path, {"udp_send.py": exported / "udp_send.py"})
    result, proc = grade(sub, "--program", "udp-send", "--program", "udp-recv", tmp=tmp_path)
    status = {p["id"]: p["status"] for p in result["programs"]}
    assert status == {"udp-send": "graded", "udp-recv": "missing"}
    recv = [p for p in result["programs"] if p["id"] == "udp-recv"][0]
    assert recv["max_score"] > 0 and recv["score"] == 0
    assert proc.returncode == 1


def test_run_option_replaces_the_command(tmp_path):
    sub = submission_with(tmp_path, {"README.txt": "no python here"})
    result, proc = grade(sub, "--program", "udp-echo-server",
                         "--run", "udp-echo-server={python} -m netgrade.reference.udp_echo_server", tmp=tmp_path)
    assert result["programs"][0]["status"] == "graded"
    assert set(checks_by_status(result)) == {"pass"}, proc.stdout


def test_netgrade_toml_names_file_and_command(tmp_path, exported):
    sub = submission_with(tmp_path, {
        "code/sender_v2.py": exported / "udp_send.py",
        "netgrade.toml": '[programs.udp-send]\nfile = "code/sender_v2.py"\n',
    })
    result, _ = grade(sub, "--program", "udp-send", tmp=tmp_path)
    assert result["programs"][0]["file"] == "code/sender_v2.py"
    assert set(checks_by_status(result)) == {"pass"}


def test_host_mode_never_runs_a_program_that_names_a_lan_address(tmp_path):
    seed = ("from socket import *\ns = socket(AF_INET, SOCK_DGRAM)\n"
            "s.sendto(input().encode(), ('192.168.1.15', 8080))\nprint('发送完成')\n")
    sub = submission_with(tmp_path, {"udp_send.py": seed})
    result, proc = grade(sub, "--program", "udp-send", "--no-namespaces", tmp=tmp_path)
    checks = result["programs"][0]["checks"]
    assert {c["status"] for c in checks} == {"skip"}
    assert "192.168.1.15" in checks[0]["message"] and "not run on the host network" in checks[0]["message"]
    assert not [e for c in checks for e in c["evidence"]["events"] if e["kind"] == "start" and e["who"] == "udp-send"]


def test_off_loopback_literals():
    from netgrade.programs import off_loopback_addresses
    src = b"a=('127.0.0.1',1); b='0.0.0.0'; c=('192.168.1.15',2); d='10.0.0.7'; v='1.2.3.4.5'"
    assert off_loopback_addresses(src) == ["192.168.1.15", "10.0.0.7"]


ASKS_FIRST = """import socket
ip = input("请输入服务器IP：")
port = int(input("请输入端口："))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(input("请输入数据：").encode(), (ip, port))
print("发送完成")
"""


def test_program_asking_for_an_address_gets_a_prelude_hint_then_passes(tmp_path):
    sub = submission_with(tmp_path, {"udp_send.py": ASKS_FIRST})
    result, _ = grade(sub, "--program", "udp-send", tmp=tmp_path)
    msg = {c["id"]: c["message"] for c in result["programs"][0]["checks"]}["one-datagram"]
    assert "waiting for input after printing" in msg and "stdin_prelude" in msg
    (sub / "netgrade.toml").write_text('[programs.udp-send]\nstdin_prelude = ["127.0.0.1", "8080"]\n', "utf-8")
    result, proc = grade(sub, "--program", "udp-send", tmp=tmp_path)
    assert proc.returncode == 0, proc.stdout
