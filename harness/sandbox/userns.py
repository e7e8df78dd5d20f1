"""The full local sandbox without root: the grading process in a user namespace of its own.

A user who is not root cannot make network or mount namespaces, but can make
a **user namespace** in which it is root (its own uid mapped to 0, as
``unshare --map-root-user`` does) and which owns every namespace made from
it.  So when netgrade is started by such a user, ``netgrade check`` (and each
grading process of ``netgrade batch``) starts itself again inside one, with a
mount namespace of its own::

    unshare --user --map-root-user [--map-auto] --mount --net -- python3 -m netgrade check ...

and then grades exactly as root does: a network namespace per check (port 69
binds, lab addresses, the catch-all redirect), the confined view with its
tmpfs work folders, pid and IPC namespaces, rlimits, the seccomp filter.
Everything it writes (results, reports) belongs to the user, as before.

A uid of its own for each run needs more ids than the user's own.  Where the
user has subordinate ids (``/etc/subuid`` and ``/etc/subgid``, e.g.
``ngtest:100000:65536``) and the setuid helpers ``newuidmap``/``newgidmap``
exist (Debian package ``uidmap``), the namespace maps them too
(``unshare --map-auto``): inside it root is the user and uids 1..65535 are the
subordinate range.  Runs then get uids from that range, never reused (the
counter is in the user's cache folder, see uids.py), and everything the root
sandbox does with a run's uid holds: the redirect of a client's traffic from a
port of its own (matched by uid), no signalling the grader, files owned by
the run.

Without a range (no subordinate ids, no ``newuidmap``, or
``NETGRADE_USERNS_RANGE=0``) the namespace maps the user's uid alone.  The
program then runs as the user (root inside, without any capability), and
what keeps it from the grader's files is the confined view (it sees only
its work folder, its scratch space and the read-only system folders), and
from the grader's processes its pid namespace.  Without a uid of its own,
the redirect of a client's traffic from a port of its own (matched by uid)
is not made, and such a client reaches no peer; the ``port`` check reports
the port either way.  ``netgrade doctor`` names the missing piece.

Where no user namespace can be made (``user.max_user_namespaces=0``,
``kernel.apparmor_restrict_unprivileged_userns=1``...), nothing changes:
netgrade grades on the host's loopback and says why (``netgrade doctor``).
"""
from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys

#: set in the environment of the process started inside the user namespace (never start one twice)
MARK = "NETGRADE_USERNS"
#: ``0`` keeps the namespace to the user's own uid even where a subordinate range could be mapped
RANGE_SWITCH = "NETGRADE_USERNS_RANGE"
#: where the subordinate ids are given (shadow's files)
SUBUID, SUBGID = "/etc/subuid", "/etc/subgid"
#: a user namespace that maps the user's uid alone (runs keep it)
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "--net", "--"]
#: one that also maps the user's subordinate uids and gids (a uid of its own for each run)
UNSHARE_RANGED = ["unshare", "--user", "--map-root-user", "--map-auto", "--mount", "--net", "--"]


#: the uid map of the machine's own identity (no user namespace of an ordinary user's)
IDENTITY_MAP = [(0, 0, 4294967295)]


def uid_map() -> list[tuple[int, int, int]]:
    """This process's uid map: (first uid inside, first uid outside, count) per line."""
    try:
        with open("/proc/self/uid_map") as f:
            return [tuple(map(int, line.split())) for line in f if line.strip()]  # type: ignore[misc]
    except (OSError, ValueError):
        return list(IDENTITY_MAP)


def inside() -> bool:
    """True in a user namespace netgrade made for itself (root inside, an ordinary user outside)."""
    m = uid_map()
    return os.environ.get(MARK) is not None and m != IDENTITY_MAP


def outer_uid() -> int:
    """The uid that root here is outside the user namespace (this uid where there is none)."""
    return next((outside for ins, outside, _n in uid_map() if ins == 0), os.geteuid())


@functools.lru_cache(maxsize=1)
def single_uid() -> bool:
    """True inside a user namespace that maps one uid only: runs cannot get uids of their own."""
    m = uid_map()
    return len(m) == 1 and m[0][2] == 1


def _subids(path: str, uid: int) -> list[tuple[int, int]]:
    """The (first, count) ranges ``path`` (/etc/subuid or /etc/subgid) gives the user ``uid``."""
    try:
        names = {str(uid), pwd.getpwuid(uid).pw_name}
    except KeyError:
        names = {str(uid)}
    found = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in names and parts[1].isdigit() and parts[2].isdigit():
                    found.append((int(parts[1]), int(parts[2])))
    except OSError:
        pass
    return [r for r in found if r[1] > 0]


def range_missing(uid: int | None = None) -> tuple[str, str] | None:
    """Why a user namespace of ``uid`` (this user) cannot map a subordinate range, as (what, fix), or None."""
    uid = os.geteuid() if uid is None else uid
    if os.environ.get(RANGE_SWITCH) == "0":
        return f"{RANGE_SWITCH}=0 is set", f"unset {RANGE_SWITCH}"
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    helpers = [h for h in ("newuidmap", "newgidmap") if shutil.which(h) is None]
    if helpers:
        return f"no {' or '.join(helpers)} (the setuid helpers that map subordinate ids)", "sudo apt-get install uidmap"
    lacking = [f for f in (SUBUID, SUBGID) if not _subids(f, uid)]
    if lacking:
        return (f"{' and '.join(lacking)} give {user} no subordinate ids",
                f"sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}  (a range no other"
                " user has)")
    return None


@functools.lru_cache(maxsize=1)
def ranged() -> bool:
    """True when this (non-root) user's namespace can map its subordinate ids: runs get uids of their own."""
    if range_missing() is not None:
        return False
    try:
        return subprocess.run([*UNSHARE_RANGED[:-1], "true"], capture_output=True, timeout=10,
                              check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def command() -> list[str]:
    """The ``unshare`` command (ending in ``--``) that makes this user's namespace: with a range where it can."""
    return UNSHARE_RANGED if ranged() else UNSHARE


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
    argv = command()
    os.execvpe(argv[0], [*argv, sys.executable, "-m", module, *args], env)
