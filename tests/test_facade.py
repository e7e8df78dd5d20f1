"""Suites are written in one module: ``netgrade.checks`` (check50's shape: one small API to write checks in).

Our own suites import nothing else of netgrade, so the vocabulary an
instructor's checks can use is exactly what ``netgrade.checks`` exports, and
every name it exports is there.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_suites_import_only_the_checks_module():
    wrong = []
    for f in sorted((ROOT / "suites").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "netgrade":
                if node.module != "netgrade.checks":
                    wrong.append(f"{f.name}:{node.lineno}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                wrong += [f"{f.name}:{node.lineno}: import {a.name}" for a in node.names
                          if a.name.split(".")[0] == "netgrade"]
    assert not wrong, "suites import netgrade only through netgrade.checks:\n" + "\n".join(wrong)


def test_every_exported_name_is_there():
    import netgrade.checks as api
    missing = [n for n in api.__all__ if not hasattr(api, n)]
    assert not missing, missing
    assert {"check", "fail", "per_program", "UdpPeer", "TcpPeer", "TftpPeer", "exits_zero"} <= set(api.__all__)
