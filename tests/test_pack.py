"""The pack: defaults, overrides, and one-line errors naming file and key."""
from __future__ import annotations

import pytest

from conftest import grade, netgrade
from netgrade.pack import PackError, load


def test_default_pack_has_every_program_of_the_sheet():
    pack = load()
    assert len(pack.programs) == 18  # 6 UDP, 8 TCP, 2 TFTP, 2 framing
    assert pack.programs["tftp-server"].port == 69
    assert pack.programs["tcp-thanks-server"].expect["reply"] == "Thank you!"
    assert pack.lab_addresses == ("192.168.1.15",)


def test_override_merges_key_by_key(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[programs.tcp-thanks-server.expect]\nreply = "thank you!"\n[points]\nmust = 5\n', "utf-8")
    pack = load(f)
    assert pack.programs["tcp-thanks-server"].expect["reply"] == "thank you!"
    assert pack.programs["tcp-thanks-server"].port == 8088  # untouched keys stay
    assert pack.points == {"must": 5.0, "should": 1.0, "extra": 0.0}


@pytest.mark.parametrize("text, fragment", [
    ('[programs.udp-send]\nport = "x"\n', "programs.udp-send.port: must be an integer"),
    ('[programs.udp-send]\nport = 70000\n', "programs.udp-send.port: must be a port number"),
    ('[programs.udp-send]\ncolour = "red"\n', "programs.udp-send.colour: unknown key"),
    ('[pack]\nlab_addresses = ["127.0.0.5"]\n', "pack.lab_addresses: '127.0.0.5' cannot be a lab address"),
    ('[programs.new-one]\nfile = "x.py"\n', "programs.new-one.family: missing"),
    ('[limits]\nstep_s = 0\n', "limits.step_s: must be greater than 0"),
    ('[checks."nope"]\npoints = 1\n', "checks.nope: a check key is"),
    ('not toml at all = = =\n', "not valid TOML"),
])
def test_malformed_pack_names_file_and_key(tmp_path, text, fragment):
    f = tmp_path / "bad.toml"
    f.write_text(text, "utf-8")
    with pytest.raises(PackError) as exc:
        load(f)
    msg = str(exc.value)
    assert msg.startswith(str(f) + ": ") and fragment in msg and "\n" not in msg


def test_cli_bad_pack_is_one_line_exit_2(tmp_path, exported):
    f = tmp_path / "bad.toml"
    f.write_text('[programs.udp-send]\nport = "x"\n', "utf-8")
    proc = netgrade("check", str(exported), "--pack", str(f))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "bad.toml: programs.udp-send.port" in proc.stderr


def test_a_check_can_be_switched_on_and_off(tmp_path, exported):
    from conftest import grade
    assert load().enabled("tftp-server/block-wrap") is False
    f = tmp_path / "on.toml"
    f.write_text('[checks."udp-recv/exits"]\nenabled = false\n', "utf-8")
    result, _ = grade(exported, "--program", "udp-recv", "--pack", str(f), tmp=tmp_path)
    ids = {c["id"] for c in result["programs"][0]["checks"]}
    assert "exits" not in ids and "prints" in ids


def test_port_checks_use_the_port_of_the_merged_pack(tmp_path, exported):
    # issue 16: suites/test_ports.py once built its checks from the default pack at import time,
    # so a class pack that moves a program to another port was graded, titled and hinted on the old one
    f = tmp_path / "ports.toml"
    f.write_text('[programs.tcp-thanks-server]\nport = 9099\n[programs.udp-send]\nport = 9080\n', "utf-8")
    result, _ = grade(exported, "--program", "tcp-thanks-server", "--program", "udp-send", "--pack", str(f),
                      "--run", "tcp-thanks-server={python} {file} --port 9099", tmp=tmp_path)
    port = {p["id"]: next(c for c in p["checks"] if c["id"] == "port") for p in result["programs"]}
    server, client = port["tcp-thanks-server"], port["udp-send"]
    # the server, run on the pack's port, passes a check that names that port
    assert server["status"] == "pass", server["message"]
    assert server["title"] == "listens on TCP port 9099" and "9099" in server["hint"] and "8088" not in server["hint"]
    # the reference client still sends to the sheet's 8080: the pack's 9080 is what it is graded on
    assert client["title"] == "sends to UDP port 9080" and "9080" in client["hint"]
    assert client["status"] == "fail" and "sent to UDP port 8080; the sheet says port 9080" in client["message"]


def test_a_pack_naming_a_check_that_does_not_exist_is_refused(tmp_path, exported):
    f = tmp_path / "typo.toml"
    f.write_text('[checks."udp-send/one-datagrams"]\nlevel = "extra"\n', "utf-8")
    for args in (("check", str(exported)), ("list",)):
        proc = netgrade(*args, "--pack", str(f))
        assert proc.returncode == 2, proc.stderr
        line = proc.stderr.strip()
        assert "\n" not in line and f"{f}: checks.udp-send/one-datagrams: no such check" in line
        assert "one-datagram," in line  # the program's real ids are named


def test_the_default_pack_names_only_checks_that_exist():
    from netgrade.catalog import collect_checks
    known = {f"{c['program']}/{c['id']}" for c in collect_checks()}
    assert set(load().checks) <= known, set(load().checks) - known


def test_every_check_of_the_suites_names_its_id():
    # ids are what packs and translations refer to: renaming a test function must change none of them
    import ast
    from pathlib import Path
    for f in sorted((Path(__file__).parent.parent / "suites").glob("test_*.py")):
        for node in ast.walk(ast.parse(f.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("check", "per_program"):
                assert any(k.arg == "id" for k in node.keywords), f"{f.name}:{node.lineno}: @check without id="


def test_two_checks_of_a_program_sharing_an_id_are_refused(tmp_path, exported):
    extra = tmp_path / "test_mine.py"
    extra.write_text('from netgrade.checks import check\n\n'
                     '@check("udp-send", "extra", "one", id="twice")\ndef test_one(): pass\n\n'
                     '@check("udp-send", "extra", "two", id="twice")\ndef test_two(): pass\n', "utf-8")
    proc = netgrade("list", "--suites", str(extra))
    assert proc.returncode != 0 and "share an id: udp-send/twice" in proc.stderr
    result, proc = grade(exported, "--program", "udp-send", "--suites", str(extra), tmp=tmp_path)
    assert result["status"] == "error" and "share an id: udp-send/twice" in result["message"]
