"""``python -m netgrade.docker.inside ROOT [-- COMMAND...]``: the first step inside the container mode's
container: the runs' cgroup hierarchies mounted under ROOT (``sandbox/cgroups.py``), then COMMAND.

A failed mount is not fatal: it is written down, and the grading's notice says the runs are held by
their rlimits alone.
"""
from __future__ import annotations

import os
import sys

from ..sandbox.cgroups import mount_delegated


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print("usage: python -m netgrade.docker.inside ROOT [-- COMMAND...]", file=sys.stderr)
        return 2
    root, rest = argv[0], argv[1:]
    problem = mount_delegated(root)
    if problem:
        print(f"netgrade: no cgroup per program run: {problem}", file=sys.stderr)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if rest:
        sys.stdout.flush()
        os.execvp(rest[0], rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
