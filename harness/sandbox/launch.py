"""How a program is started inside a sandbox: the isolation chain.

With namespaces (the default), one program run is::

    nsenter --net=<sandbox netns>            # the sandbox's private network
      unshare --pid --fork --kill-child --mount --propagation private
        sh -c <setup>                        # pid 1 of a new pid namespace
          prlimit <cpu, memory, file size, processes, core>
            setpriv --reuid U --regid U --clear-groups --no-new-privs
                    --inh-caps=-all --bounding-set=-all
              python3 FILE                   # the program, as pid 1

The setup script mounts a fresh ``/proc`` (the program sees only its own
processes, so it cannot signal the grader), hides ``/tmp``, ``/var/tmp``,
``/dev/shm`` and any folder other users cannot enter (such as ``/root``)
behind private tmpfs mounts, and binds back only what the program needs: the
interpreter's install tree and its own work folder.  The program runs under a
user id of its own, without capabilities, so it can write nothing but its work
folder and cannot touch the grader's files, its results, or other runs.  When
the run ends, killing ``unshare`` kills pid 1 (``--kill-child``), and the
kernel then kills every process left in that pid namespace: double forks and
new sessions included.  ``setpriv --pdeathsig`` on the outer process ties the
whole chain to the grader: if the grader dies, the run dies too.
"""
from __future__ import annotations

import functools
import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from ..pack import Limits

SANDBOX_EXIT = 125  # the setup script failed: a grader problem, not the program's
MASKED_ALWAYS = ("/tmp", "/var/tmp", "/dev/shm")
MAX_EXPOSED_FDS = 6  # fds 3..8 in the setup script


def _needed_paths() -> set[str]:
    """Folders a Python program run by netgrade must be able to read."""
    import harness

    from .python import program_python

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.add(str(Path(harness.__file__).resolve().parent.parent))  # exported references import harness
    paths.add(str(Path(program_python()).parent.parent))  # the programs' clean environment
    for p in sys.path:
        if p and os.path.isdir(p):
            paths.add(p)
    return {os.path.realpath(p) for p in paths}


def _blocked_ancestor(path: str) -> str | None:
    """The outermost folder on the way to ``path`` that other users cannot enter."""
    parts = Path(path).parts
    for i in range(2, len(parts) + 1):
        d = os.path.join(*parts[:i])
        try:
            if not os.stat(d).st_mode & stat.S_IXOTH:
                return d
        except OSError:
            return None
    return None


@functools.lru_cache(maxsize=1)
def _static_plan() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(folders to mask, read-only paths to expose) for every run of this process."""
    masks = {m for m in MASKED_ALWAYS if os.path.isdir(m) and not os.path.islink(m)}
    exposes = set()
    for p in _needed_paths():
        blocked = _blocked_ancestor(p)
        if blocked:
            masks.add(blocked)
        if any(p == m or p.startswith(m + "/") for m in masks) or blocked:
            exposes.add(p)
    # masks inside other masks are redundant; exposures inside other exposures too
    masks = {m for m in masks if not any(m != o and m.startswith(o + "/") for o in masks)}
    exposes = {e for e in exposes if not any(e != o and e.startswith(o + "/") for o in exposes)}
    return tuple(sorted(masks)), tuple(sorted(exposes))


def _mask_mode(mask: str) -> str:
    """Shared scratch folders stay sticky and world-writable; closed ones become plain readable dirs."""
    return "1777" if mask in MASKED_ALWAYS else "755"


@dataclass(frozen=True)
class Isolation:
    """What the launch chain enforces for one run."""

    limits: Limits
    uid: int | None  # run as this user id; None keeps the grader's (no root)
    namespaces: bool  # pid + mount namespaces (needs CAP_SYS_ADMIN)


def child_env(workdir: str, pythonpath: str | None = None, path: str | None = None) -> dict[str, str]:
    """A run's whole environment; ``pythonpath`` and ``path`` default to this machine's."""
    from .python import packages_dir, program_python

    pybin = os.path.dirname(program_python())
    return {
        "PYTHONPATH": pythonpath or packages_dir(),
        "PATH": path or f"{pybin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _prlimit(limits: Limits) -> list[str]:
    return [
        "prlimit",
        f"--cpu={limits.cpu_s}",
        f"--as={limits.memory_mb * 1024 * 1024}",
        f"--fsize={limits.file_mb * 1024 * 1024}",
        f"--nproc={limits.processes}",
        "--core=0",
        "--nofile=1024",
        "--",
    ]


def _setpriv(uid: int | None) -> list[str]:
    ids = [f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid is not None else []
    return ["setpriv", *ids, "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]


def setup_script(workdir: str, cwd: str, inherited_fds: tuple[int, ...]) -> str:
    """The shell script that runs as pid 1 of the run's pid namespace."""
    masks, exposes = _static_plan()
    work = os.path.realpath(workdir)
    lines = ["set -e", "trap 'echo \"netgrade-sandbox: setup failed\" >&2; exit 125' EXIT",
             "mount -t proc proc /proc",
             # sysfs shows the network namespace of whoever mounts it: the run's own
             "mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys || true"]
    for fd in inherited_fds:
        if 0 <= fd <= 9:
            lines.append(f"exec {fd}<&-")
    wanted = list(exposes) + [work]
    for mask in masks:
        inside = [p for p in wanted if p == mask or p.startswith(mask + "/")]
        if len(inside) > MAX_EXPOSED_FDS:
            raise ValueError(f"too many paths to expose under {mask}")
        fds = list(range(3, 3 + len(inside)))
        for fd, path in zip(fds, inside):
            lines.append(f"exec {fd}< {shlex.quote(path)}")
        mode = _mask_mode(mask)
        lines.append(f"mount -t tmpfs -o mode={mode},size=64m,nosuid,nodev netgrade {shlex.quote(mask)}")
        for fd, path in zip(fds, inside):
            q = shlex.quote(path)
            lines.append(f"mkdir -p {q}")
            lines.append(f"mount --no-canonicalize --bind /proc/self/fd/{fd} {q}")
        for fd in fds:
            lines.append(f"exec {fd}<&-")
    lines.append(f"cd {shlex.quote(os.path.join(work, cwd))}")
    lines.append("trap - EXIT")
    lines.append('exec "$@"')
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def launcher_binary() -> str | None:
    """The compiled launcher (launcher.c), built once into the cache; None without a C compiler.

    It does the setup script's work with system calls instead of a dozen
    commands: about 25 ms of CPU less per program run.
    """
    import hashlib
    import shutil
    import subprocess
    import tempfile

    from .python import cache_dir

    if os.environ.get("NETGRADE_NO_LAUNCHER"):
        return None
    source = Path(__file__).with_name("launcher.c")
    try:
        code = source.read_bytes()
    except OSError:
        return None
    target = cache_dir() / f"launch-{hashlib.sha256(code).hexdigest()[:12]}"
    if target.exists():
        return str(target)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".launch-", dir=target.parent)
        os.close(fd)
        proc = subprocess.run([cc, "-O2", "-Wall", "-o", tmp, str(source)], capture_output=True, timeout=60)
        if proc.returncode != 0:
            os.unlink(tmp)
            return None
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
        return str(target)
    except (OSError, subprocess.SubprocessError):
        return None


def launcher_options(cwd_path: str, iso: Isolation, masks: list[tuple[str, str]],
                     exposes: tuple[str, ...] = ()) -> list[str]:
    """The launcher's options: work folder, limits, user id, (mask, mode) pairs, paths to expose."""
    lim = iso.limits
    args = ["-c", cwd_path,
            "-l", f"{lim.cpu_s},{lim.memory_mb * 1024 * 1024},{lim.file_mb * 1024 * 1024},{lim.processes}"]
    if iso.uid is not None:
        args += ["-u", str(iso.uid)]
    for mask, mode in masks:
        args += ["-m", f"{mask}:{mode}"]
    for path in exposes:
        args += ["-e", path]
    return args


def _launcher_args(workdir: str, cwd: str, iso: Isolation) -> list[str]:
    masks, exposes = _static_plan()
    work = os.path.realpath(workdir)
    return launcher_options(os.path.join(work, cwd), iso, [(m, _mask_mode(m)) for m in masks], (*exposes, work))


#: the outer process dies with the grader (pdeathsig survives the execs after it)
DIES_WITH_GRADER = ["setpriv", "--pdeathsig", "KILL", "--"]
#: pid 1 of a new pid namespace (everything it starts dies with it), in a private mount namespace
OWN_PID_AND_MOUNTS = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "--"]


def build_argv(command: list[str], workdir: str, cwd: str, iso: Isolation,
               net_prefix: list[str], net_fds: tuple[int, ...]) -> list[str]:
    """The full argv that starts ``command`` in the sandbox."""
    tail = _prlimit(iso.limits) + _setpriv(iso.uid) + command
    head, unshare = DIES_WITH_GRADER, OWN_PID_AND_MOUNTS
    if not iso.namespaces:
        return head + tail
    launcher = launcher_binary()
    if launcher is not None:
        return head + net_prefix + unshare + [launcher, *_launcher_args(workdir, cwd, iso), "--", *command]
    script = setup_script(workdir, cwd, net_fds)
    return head + net_prefix + unshare + ["/bin/sh", "-c", script, "netgrade-run", *tail]
