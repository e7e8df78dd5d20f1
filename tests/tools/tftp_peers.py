"""The real TFTP implementations the interop tests and the benchmark talk to.

``install-tftp-peers.sh DIR`` unpacks tftpd-hpa, tftp-hpa, atftpd and atftp
into DIR; ``$NETGRADE_PEERS`` (default ``/opt/netgrade-peers``) names it here,
and ``PATH`` is the fallback.  Every peer runs inside a check's private network
namespace, started by ``Sandbox.start``: as an unprivileged user id without
capabilities.

tftpd-hpa needs help there.  For every request its child process calls
``initgroups()``, ``chroot()`` (with ``-s``) and ``setresgid/setresuid()`` to
become ``-u USER``; an unprivileged caller gets EPERM from ``initgroups`` and
the child exits 71 without a word (it logs to syslog only), so the server
binds port 69 and answers nothing.  No flag skips that step.  Hence:

- ``unshare --map-root-user``: a user namespace in which the program is root
  (mapped to its own unprivileged id outside), with CAP_SYS_CHROOT there, so
  ``-s`` confines it for real; ``-u root`` makes the id switch a no-op on the
  only ids that exist in that namespace;
- the kernel still refuses ``setgroups()`` in a user namespace made without
  privilege (it must be denied before the group map can be written), so
  ``strace`` makes that one call return success: with ``--seccomp-bpf`` only
  ``setgroups`` stops the server, no other system call is slowed down.

``-c`` lets uploads create files (tftpd-hpa only overwrites by default).
"""
from __future__ import annotations

import os
import shutil

PEERS_DIR = os.environ.get("NETGRADE_PEERS", "/opt/netgrade-peers")


def find(name: str) -> str | None:
    """The path of the peer binary ``name``: in $NETGRADE_PEERS first, then on PATH."""
    for sub in ("usr/sbin", "usr/bin", "sbin", "bin"):
        path = os.path.join(PEERS_DIR, sub, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def missing(*names: str) -> str | None:
    """Why the binaries ``names`` cannot be used (None: all there)."""
    gone = [n for n in names if find(n) is None]
    if not gone:
        return None
    return (f"{', '.join(gone)} not found in {PEERS_DIR} nor on PATH "
            f"(install with tests/tools/install-tftp-peers.sh {PEERS_DIR})")


def tftpd_hpa(port: int = 69, root: str = ".") -> list[str]:
    """argv of tftpd-hpa serving ``root`` on UDP ``port``, runnable as an unprivileged user id."""
    return [
        find("unshare") or "unshare", "--map-root-user",
        find("strace") or "strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null",
        "-e", "trace=setgroups", "-e", "inject=setgroups:retval=0",
        # -a :PORT, not 127.0.0.1:PORT: its address lookup skips loopback (exit 66 in a loopback-only namespace)
        find("in.tftpd") or "in.tftpd", "-L", "-a", f":{port}", "-s", root, "-c", "-u", "root",
    ]


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def tftpd_hpa_missing() -> str | None:
    """Why tftpd-hpa cannot run here (None: it can)."""
    if why := missing("in.tftpd", "strace", "unshare"):
        return why
    # an unprivileged user id must be allowed to make a user namespace (Debian's switch, then the limit)
    if _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0 or _read_int("/proc/sys/user/max_user_namespaces") == 0:
        return "unprivileged user namespaces are disabled: tftpd-hpa cannot run without root here"
    return None


def atftpd(port: int = 69, root: str = ".") -> list[str]:
    """argv of atftpd (it drops privileges only when started as root, so it runs as it is)."""
    return [find("atftpd") or "atftpd", "--daemon", "--no-fork", "--port", str(port),
            "--bind-address", "127.0.0.1", "--logfile", "-", "--prevent-sas", root]
