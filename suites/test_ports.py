"""Every server listens on the sheet's port (one check per server program).

Sheet: each program's heading names its port.  Real submissions often use a
port of their own; the other checks then grade the server where it listens
(found in the sandbox's socket table), so one wrong constant costs this one
check, not the program.  Its level is must; an instructor may lower it per
program in the pack: ``[checks."tcp-thanks-server/port"] level = "should"``.
"""
from __future__ import annotations

import pytest

from harness.checks import check_mark, fail
from harness.pack import load

SERVERS = [p for p in load().programs.values() if p.role == "server"]


@pytest.mark.parametrize("server", [
    pytest.param(p.id, id=p.id, marks=check_mark(
        p.id, "must", f"listens on {p.transport.upper()} port {p.port}", "port", sheet=p.sheet,
        hint=f"bind(('', {p.port})): the port the sheet gives, which clients use."))
    for p in SERVERS])
def test_server_port(server, sandbox, program):
    run = program.start_server()  # fails, saying why, when it listens nowhere
    if run.listener.port != program.port:
        fail(f"listening on {run.listener}; the sheet says {program.spec.transport.upper()} port {program.port}")
