"""Programs written the way real submissions are get a graded result, each deviation reported as its check.

``tests/realistic/submission/`` holds one student-like program per program id,
each with a deviation real submissions have (read across public student code):
a hard-coded LAN address to send to or to bind, a port of its own, the
server's address and port asked on stdin (with a ``netgrade.toml``
``stdin_prelude`` and without one), GBK on the wire, GBK output, a source
saved in GBK with a ``coding:`` declaration, little-endian length headers.
``tests/realistic/asks_input/`` holds a server that asks for input the sheet
never mentions.  Each folder is graded once, unmodified, as a student would
submit it.  The test asserts a graded result (no grader error, a verdict for
every check of every program), that the check naming the deviation fails
with a message that names it, and that the rest of the program is graded on
its merits (the checks the deviation does not concern pass).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import grade

REALISTIC = Path(__file__).resolve().parent / "realistic"

# program id -> {check id: (status, [fragments the message must contain])}; a check listed as
# "pass" shows that the deviation costs only its own check.
SUBMISSION = {
    "udp-send": {  # sends to ('192.168.0.101', 9999)
        "port": ("fail", ["port 9999", "the sheet says port 8080"]),
        "address": ("fail", ["sent to 192.168.0.101:9999", "the sheet says 127.0.0.1"]),
        "one-datagram": ("pass", []), "exits": ("pass", []), "non-ascii-and-long": ("pass", []),
    },
    "udp-recv": {  # prints in GBK (stdout re-wrapped for a Chinese Windows console)
        "prints": ("pass", []), "exits": ("pass", []),
    },
    "udp-echo-server": {  # binds ('192.168.0.101', 8090)
        "address": ("fail", ["bound to UDP 192.168.0.101:8090", "all interfaces"]),
        "port": ("pass", []), "echo": ("pass", []), "many": ("pass", []), "two-clients": ("pass", []),
        "boundaries": ("pass", []), "empty": ("pass", []), "invalid-utf8": ("pass", []),
    },
    "udp-echo-client": {  # sends GBK
        "lines": ("fail", ["sent GBK bytes (ce d2 b0 ae c4 e3) for '我爱你'", "UTF-8 (e6 88 91 e7 88 b1 e4 bd a0)"]),
        "exits": ("pass", []), "one-socket": ("pass", []), "eof": ("pass", []), "address": ("pass", []),
    },
    "udp-area-server": {  # asks for its port on stdin, no prelude declared
        "port": ("fail", ["请输入服务器监听的端口", "stdin_prelude"]),
    },
    "udp-area-client": {  # asks for the server's address and port; the prelude types 192.168.3.7, 8080
        "address": ("pass", []), "port": ("pass", []), "sends": ("pass", []), "prints": ("pass", []),
        "exits": ("pass", []),
    },
    "tcp-chat-server": {  # the source is saved in GBK, with "# -*- coding: gbk -*-"
        "prints-messages": ("pass", []), "sends-replies": ("pass", []), "client-bye": ("pass", []),
        "operator-bye": ("pass", []), "client-disconnects": ("pass", []),
    },
    "tcp-chat-client": {  # asks for the server's address and port; the prelude types them
        "sends-lines": ("pass", []), "prints-replies": ("pass", []), "exits-after-bye": ("pass", []),
        "address": ("pass", []), "port": ("pass", []),
    },
    "tcp-thanks-server": {  # listens on port 8000
        "port": ("fail", ["0.0.0.0:8000", "the sheet says TCP port 8088"]),
        "reply": ("pass", []), "prints-message": ("pass", []), "closes": ("pass", []), "exits": ("pass", []),
        "restart": ("pass", []), "address": ("pass", []),
    },
    "tcp-thanks-client": {  # connects to ('10.0.0.7', 8000)
        "port": ("fail", ["port 8000"]),
        "address": ("fail", ["connected to 10.0.0.7:8000"]),
        "line-arrives": ("pass", []), "prints-reply": ("pass", []), "exits": ("pass", []),
    },
    "tcp-qq-server": {  # decodes what it receives as GBK
        "conversation": ("fail", ["decoded as GBK", "'你好'"]),
    },
    "tcp-qq-client": {  # asks for the server's address and port, no prelude declared
        "port": ("fail", ["It asked '请输入服务器ip:", "took the check's input 'hello'", "stdin_prelude"]),
    },
    "tcp-sink-server": {  # binds the address socket.gethostname() resolves to (the seeds' way)
        "prints-all": ("pass", []), "exits-on-close": ("pass", []), "address": ("pass", []),
    },
    "tcp-sink-client": {  # sends GBK
        "lines-arrive": ("fail", ["sent GBK bytes (b5 da b6 fe d0 d0) for '第二行'"]),
        "exit-not-sent": ("pass", []), "closes-with-fin": ("pass", []), "exits": ("pass", []),
    },
    "framed-server": {  # struct.pack('i') / struct.unpack('i'): little-endian on both sides
        "big-endian": ("fail", ["reads the length little-endian", "second run answered"]),
        "two-in-one-write": ("pass", []), "pieces": ("pass", []), "byte-by-byte": ("pass", []),
        "one-mib": ("pass", []), "zero-length": ("pass", []), "pipelined": ("pass", []),
        "mid-frame-close": ("pass", []),
    },
    "framed-client": {  # struct.pack('i') / struct.unpack('i'): little-endian on both sides
        "header-length": ("fail", ["the client sent 05 00 00 00", "little-endian"]),
        "reply-in-pieces": ("pass", []), "reply-byte-by-byte": ("pass", []), "one-mib-reply": ("pass", []),
        "exits": ("pass", []),
    },
}

ASKS_INPUT = {
    "udp-echo-server": {  # asks for a reply on stdin after every datagram
        "echo": ("fail", ["给客户端发送>>>", "asks for input the sheet never mentions"]),
        "port": ("pass", []),
    },
}

CASES = [("submission", SUBMISSION), ("asks_input", ASKS_INPUT)]


# Checks that take seconds and concern none of the deviations (interop with our references, a
# withheld reply) are turned off by a pack overlay, to keep the test fast; the programs are unmodified.
SLOW_UNRELATED = ["udp-echo-client/lost-reply"]


def _grade(folder: str, expected: dict, tmp: Path) -> tuple[dict, object]:
    overlay = tmp / "quick.toml"
    keys = [f"{pid}/with-reference" for pid in expected] + SLOW_UNRELATED
    overlay.write_text("".join(f'[checks."{key}"]\nenabled = false\n' for key in keys), "utf-8")
    args = ["--jobs", "8", "--pack", str(overlay)]
    for program_id in expected:
        args += ["--program", program_id]
    return grade(REALISTIC / folder, *args, tmp=tmp / "result")


@pytest.mark.parametrize("folder, expected", CASES, ids=[c[0] for c in CASES])
def test_graded_and_each_deviation_reported_as_its_check(folder, expected, tmp_path):
    result, proc = _grade(folder, expected, tmp_path)  # one grading run per folder: it is the slow part
    assert result["status"] == "graded", (result.get("message"), proc.stdout[-2000:])

    # a verdict for every check of every program, and no grader error
    programs = {p["id"]: p for p in result["programs"]}
    assert set(expected) <= set(programs)
    for program_id in expected:
        checks = programs[program_id]["checks"]
        assert checks, f"{program_id}: no checks"
        statuses = {c["id"]: c["status"] for c in checks}
        assert set(statuses.values()) <= {"pass", "fail"}, f"{program_id}: {statuses}"

    # the deviation fails the check that names it; the checks it does not concern pass
    checks = {(p["id"], c["id"]): c for p in result["programs"] for c in p["checks"]}
    problems = []
    for program_id, wanted in expected.items():
        for check_id, (status, fragments) in wanted.items():
            c = checks.get((program_id, check_id))
            if c is None:
                problems.append(f"{program_id}/{check_id}: not graded")
                continue
            if c["status"] != status:
                problems.append(f"{program_id}/{check_id}: {c['status']} (expected {status}): {c['message'][:400]}")
                continue
            missing = [f for f in fragments if f not in c["message"]]
            if missing:
                problems.append(f"{program_id}/{check_id}: message lacks {missing}: {c['message'][:600]}")
    assert not problems, "\n".join(problems)

    # output is shown leniently: a program printing GBK reads as the Chinese it printed
    if "udp-recv" in expected:
        shown = "".join(run["stdout"] for run in checks[("udp-recv", "prints")]["evidence"]["processes"]
                        if run["label"] == "udp-recv")
        assert "收到来自" in shown and "你好 netgrade 8090" in shown, shown


# ---------------------------------------------------------------- the helpers, without grading

def test_gbk_payload_is_named_with_both_byte_strings():
    from netgrade.text import describe_encoding_mismatch
    msg = describe_encoding_mismatch("你好", "你好".encode("gbk"))
    assert msg.startswith("sent GBK bytes (c4 e3 ba c3) for '你好'") and "UTF-8 (e4 bd a0 e5 a5 bd)" in msg
    assert describe_encoding_mismatch("你好", "你好".encode()) is None  # right
    assert describe_encoding_mismatch("hello", b"hullo") is None  # ASCII: no encoding explains it
    assert describe_encoding_mismatch("你好", b"something else") is None
    twice = "我爱你".encode().decode("gbk", "ignore").encode()  # read as GBK, sent on as UTF-8
    assert "were decoded as GBK" in describe_encoding_mismatch("我爱你", twice)
    assert "text of a bytes object" in describe_encoding_mismatch("我爱你", str("我爱你".encode()).encode())


def test_garbled_output_is_named():
    from netgrade.text import describe_misdecoded_output
    assert "bytes object" in describe_misdecoded_output("我爱你", "got " + str("我爱你".encode()))
    garbled = "消息：" + "第二条消息".encode().decode("gbk", "replace")
    assert "decoded as GBK" in describe_misdecoded_output("第二条消息", garbled)
    assert describe_misdecoded_output("第二条消息", "消息：第二条消息") is None


def test_display_decodes_line_by_line():
    from netgrade.text import decode
    mixed = "提示>".encode() + "你好\n".encode("gbk") + "世界\n".encode()
    assert decode(mixed) == "提示>你好\n世界\n"  # one GBK line does not garble the UTF-8 ones
    assert decode("请输入：".encode() + "一个\n".encode("gbk")) == "请输入：一个\n"  # a UTF-8 prompt, then GBK
    cut = "世界abc".encode()[1:] + b"\n" + "世界".encode()[:4]  # characters cut at both ends of a window
    assert decode(cut) == "\\xb8\\x96界abc\n世\\xe7"
    assert decode(b"\xff\xfe binary\n") == "\\xff\\xfe binary\n"


def test_input_the_sheet_never_mentions_is_named():
    from netgrade.programs import unexpected_input_hint
    waits = {"stdout": "收到 hi\n给客户端发送>>>", "stdin": "", "waiting_for_input": True, "exit": "still running"}
    assert "asks for input the sheet never mentions" in unexpected_input_hint("udp-echo-server", waits)
    asked = {"stdout": "请输入服务器ip:请输入服务器port:", "stdin": "hello\nhello\n", "waiting_for_input": False,
             "exit": "exited with status 1",
             "stderr": "Traceback (most recent call last):\nValueError: invalid literal for int() with base 10: 'hello'"}
    hint = unexpected_input_hint("tcp-qq-client", asked, contact=False)
    assert "took the check's input 'hello'" in hint and "stdin_prelude" in hint
    assert unexpected_input_hint("tcp-qq-client", asked, contact=True) == ""  # it reached the peer: not that
    prompt = {"stdout": "请输入服务器IP：", "stdin": "x\n", "waiting_for_input": True, "exit": "still running"}
    assert "stdin_prelude" in unexpected_input_hint("tcp-qq-client", prompt)
    assert unexpected_input_hint("tcp-qq-client", prompt, waiting_prompt=False) == ""


def test_sheet_addresses():
    from netgrade.pack import load
    from netgrade.programs import sheet_address, sheet_addresses_text
    pack = load()
    assert all(sheet_address(a, pack) for a in ("127.0.0.1", "127.0.1.1", "0.0.0.0", "::", *pack.lab_addresses))
    assert not sheet_address("192.168.0.101", pack)
    assert sheet_address("192.168.3.7", pack, given=("192.168.3.7",))
    assert sheet_addresses_text(pack).startswith("127.0.0.1")


def test_arguments_from_the_command_line_are_named():
    from netgrade.programs import unexpected_input_hint
    proc = {"stdout": "", "stdin": "test.txt\n", "exit": "exited with status 1", "waiting_for_input": False,
            "stderr": 'Traceback (most recent call last):\n  File "c.py", line 3, in <module>\n'
                      "    name = sys.argv[1]\nIndexError: list index out of range\n"}
    hint = unexpected_input_hint("tftp-client", proc, contact=False)
    assert "command line (sys.argv)" in hint and '[programs.tftp-client] run = "{python} {file} ARGUMENTS"' in hint
    proc["stderr"] = proc["stderr"].replace("sys.argv[1]", "parts[1]")
    assert "sys.argv" not in unexpected_input_hint("tftp-client", proc, contact=False)
