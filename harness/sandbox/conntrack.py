"""A network namespace's connection tracking table: where a flow was addressed before the sandbox's
NAT (the catch-all, the port redirects) rewrote its destination.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Sandbox


def original_destination(sandbox: Sandbox, proto: str, source: tuple[str, int]) -> tuple[str, int] | None:
    """Where the program's ``proto`` flow from ``source`` was addressed, before any redirect.

    The catch-all and the port redirects rewrite destinations with NAT, so
    the grader's peer sees its own address; the namespace's connection
    tracking table still holds the original one.  None when the sandbox
    keeps no such table (no NAT in use, or the host fallback) or has no
    entry for the flow; then nothing was rewritten.
    """
    if not sandbox.isolated:
        return None
    try:
        with sandbox.net.entered(), open("/proc/thread-self/net/nf_conntrack") as f:
            lines = f.read().splitlines()
    except (OSError, AttributeError):
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or fields[2] != proto:
            continue
        orig: dict[str, str] = {}
        for field in fields:
            key, _, value = field.partition("=")
            if key in ("src", "dst", "sport", "dport") and key not in orig:
                orig[key] = value  # the first tuple of a line is the original direction
        if orig.get("src") == source[0] and orig.get("sport") == str(source[1]) and "dport" in orig:
            return orig["dst"], int(orig["dport"])
    return None
