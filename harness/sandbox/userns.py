"""The full local sandbox without root: the grading process in a user namespace of its own.

A user who is not root cannot make network or mount namespaces, but can make
a **user namespace** in which it is root (its own uid mapped to 0, as
``unshare --map-root-user`` does) and which owns every namespace made from
it.  So when netgrade is started by such a user, ``netgrade check`` (and each
grading process of ``netgrade batch``) starts itself again inside one, with a
mount namespace of its own::

    unshare --user --map-root-user --mount -- python3 -m netgrade check ...

and then grades exactly as root does: a network namespace per check (port 69
binds, lab addresses, the catch-all redirect), the confined view with its
tmpfs work folders, pid and IPC namespaces, rlimits, the seccomp filter.
Everything it writes (results, reports) belongs to the user, as before.

One thing a single mapped uid cannot give: a uid of its own for each run.
The program runs as the user (root inside, without any capability), and
what keeps it from the grader's files is the confined view (it sees only
its work folder, its scratch space and the read-only system folders), and
from the grader's processes its pid namespace.  Without a uid of its own,
the redirect of a client's traffic from a port of its own (matched by uid)
is not made, and such a client reaches no peer; the ``port`` check reports
the port either way.

Where no user namespace can be made (``user.max_user_namespaces=0``,
``kernel.apparmor_restrict_unprivileged_userns=1``...), nothing changes:
netgrade grades on the host's loopback and says why (``netgrade doctor``).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

#: set in the environment of the process started inside the user namespace (never start one twice)
MARK = "NETGRADE_USERNS"
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "--net", "--"]


def _uid_map() -> list[tuple[int, int, int]]:
    try:
        with open("/proc/self/uid_map") as f:
            return [tuple(map(int, line.split())) for line in f if line.strip()]  # type: ignore[misc]
    except (OSError, ValueError):
        return [(0, 0, 4294967295)]


@functools.lru_cache(maxsize=1)
def single_uid() -> bool:
    """True inside a user namespace that maps one uid only: runs cannot get uids of their own."""
    m = _uid_map()
    return len(m) == 1 and m[0][2] == 1


@functools.lru_cache(maxsize=1)
def possible() -> bool:
    """True when this (non-root) user can make a user namespace with a network namespace in it."""
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "--user", "--map-root-user", "--net", "--mount", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def enter(module: str, args: list[str]) -> None:
    """Start ``python -m module args`` again inside a user namespace of its own, where that helps.

    Returns (doing nothing) as root, inside such a namespace already, when
    ``NETGRADE_USERNS=0`` is set, or where no user namespace can be made;
    otherwise it does not return.
    """
    if os.geteuid() == 0 or os.environ.get(MARK) is not None or not possible():
        return
    env = {**os.environ, MARK: "1"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(UNSHARE[0], [*UNSHARE, sys.executable, "-m", module, *args], env)
