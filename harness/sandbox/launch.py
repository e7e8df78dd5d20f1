"""How a program is started inside a sandbox: the isolation chain.

With namespaces (the default), one program run is::

    setpriv --pdeathsig KILL                 # the run dies with the grader
      nsenter --net=<sandbox netns>          # the sandbox's private network
        unshare --pid --fork --kill-child --mount --ipc --propagation private
          netgrade-launch ...                # pid 1 of a new pid namespace (launcher.c)
            python3 FILE                     # the program, as pid 1

The launcher (``launcher.c``, compiled once into the cache with the system's
``cc``) builds the program's view of the file system and drops every
privilege before it runs the program:

- the **confined view**, for every program under test: a new root that holds
  read-only binds of the system folders and of the interpreter, with every
  ``site-packages``/``dist-packages`` folder hidden (a plain Python with its
  standard library), the run's work folder at ``/work`` (a tmpfs of its own
  with the pack's ``disk_mb``), its own ``/proc``, ``/sys``, a minimal
  ``/dev`` and fresh ``/tmp``, ``/var/tmp``, ``/dev/shm`` and
  ``/dev/mqueue``.  Nothing else of the machine is there: not netgrade, not
  the grader's files, not other submissions, not ``/run`` or ``/root``;
- the **host view**, for our reference programs and an instructor's
  ``--run`` commands (trusted code that may need tools installed anywhere):
  the machine's folders with private tmpfs over ``/tmp``, ``/var/tmp``,
  ``/dev/shm`` and every folder other users cannot enter.

Then resource limits, a user id of its own, no capabilities,
``no_new_privs`` and, for the confined view, a seccomp filter (its list is in
``launcher.c``).  When the run ends, killing ``unshare`` kills pid 1
(``--kill-child``) and with it every process of the pid namespace: double
forks and new sessions included; the IPC and mount namespaces, and all that
was in them, go with it.
"""
from __future__ import annotations

import functools
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from ..pack import Limits

SANDBOX_EXIT = 125  # the setup script failed: a grader problem, not the program's
MASKED_ALWAYS = ("/tmp", "/var/tmp", "/dev/shm")


def _needed_paths() -> set[str]:
    """Folders a Python program run by netgrade must be able to read."""
    from .python import cache_dir, program_python

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.add(str(cache_dir()))  # our reference programs, exported there as standalone files
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
    namespaces: bool  # pid + mount + IPC namespaces (needs CAP_SYS_ADMIN)
    confined: bool = True  # the confined view and the seccomp filter (programs under test)
    #: the write end of the run's status pipe: the launcher writes why its setup failed there, and the
    #: program never holds it (closed on exec), so a program cannot pass its own exit for a setup failure
    status_fd: int | None = None


#: the program's work folder inside the confined view
WORK = "/work"
#: system folders bound read-only into the confined view (links such as /bin -> usr/bin are kept as links)
SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: hidden in the confined view: every installed package (the program gets the standard library only)
HIDDEN_ALWAYS = ("/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages",
                 "/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
                 "/usr/local/bin/netgrade")


def child_env(workdir: str, pythonpath: str | None = None, path: str | None = None,
              confined: bool = False) -> dict[str, str]:
    """A run's whole environment; ``pythonpath`` and ``path`` default to this machine's.

    A confined run gets no ``PYTHONPATH``: there is nothing but the standard library to import.
    """
    from .python import packages_dir, program_python

    pybin = os.path.dirname(program_python())
    env = {
        "PATH": path or f"{pybin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if not confined:
        pythonpath = packages_dir() if pythonpath is None else pythonpath
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
    return env


def _link_chain(path: str) -> list[str]:
    """``path`` and every link on the way to the file it names (the venv's python3 -> python3.11)."""
    chain = [os.path.abspath(path)]
    for _ in range(16):
        cur = chain[-1]
        if not os.path.islink(cur):
            break
        chain.append(os.path.normpath(os.path.join(os.path.dirname(cur), os.readlink(cur))))
    return chain


@functools.lru_cache(maxsize=1)
def interpreter_plan() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(binds, hides, keeps) that give the confined view this machine's Python, standard library only.

    The programs' interpreter is a clean venv of netgrade's Python (see
    python.py); its base installation is bound read-only where it is not under
    ``/usr`` already, with its ``bin`` folder (netgrade's own command, pytest...)
    and its ``site-packages`` hidden, and the interpreter binary kept.
    """
    from .python import program_python

    exe = program_python()
    venv = str(Path(exe).parent.parent)
    binds, hides, keeps = [], [], []
    if os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        binds.append(venv)
        hides.append(os.path.join(venv, "lib", "python3*", "site-packages"))
    base = os.path.realpath(sys.base_prefix)
    if not any(base == d or base.startswith(d + "/") for d in SYSTEM_FOLDERS):
        binds.append(base)
        hides += [os.path.join(base, "bin"), os.path.join(base, "lib", "python3*", "site-packages")]
    for p in _link_chain(exe) + _link_chain(sys.executable):
        if any(p.startswith(h + "/") for h in hides if "*" not in h):
            keeps.append(p)
    return tuple(binds), tuple(hides), tuple(dict.fromkeys(keeps))


def confined_options(iso: Isolation, cwd: str, work_fd: int | None, work_dir: str | None,
                     interpreter: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())) -> list[str]:
    """The launcher's options for the confined view (``cwd`` relative to the work folder)."""
    binds, hides, keeps = interpreter
    args = ["-R", str(iso.limits.disk_mb), "-S"]
    for b in (*SYSTEM_FOLDERS, *binds):
        args += ["-b", b]
    for h in (*HIDDEN_ALWAYS, *hides):
        args += ["-H", h]
    for k in keeps:
        args += ["-k", k]
    args += ["-W", str(work_fd)] if work_fd is not None else ["-w", str(work_dir)]
    return args + _common_options(os.path.normpath(os.path.join(WORK, cwd)), iso)


def _common_options(cwd_path: str, iso: Isolation) -> list[str]:
    lim = iso.limits
    args = ["-c", cwd_path,
            "-l", f"{lim.cpu_s},{lim.memory_mb * 1024 * 1024},{lim.file_mb * 1024 * 1024},{lim.processes}"]
    if iso.uid is not None:
        args += ["-u", str(iso.uid)]
    if iso.status_fd is not None:
        args += ["-F", str(iso.status_fd)]
    return args


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


@functools.lru_cache(maxsize=1)
def launcher_binary() -> str | None:
    """The compiled launcher (launcher.c), built once into the cache; None without a C compiler."""
    import hashlib
    import shutil
    import subprocess
    import tempfile

    from .python import cache_dir

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


def host_view_options(cwd_path: str, iso: Isolation, masks: list[tuple[str, str]],
                      exposes: tuple[str, ...] = ()) -> list[str]:
    """The launcher's options for the host view: (mask, mode) pairs and the paths to expose under them."""
    args = _common_options(cwd_path, iso)
    for mask, mode in masks:
        args += ["-m", f"{mask}:{mode}"]
    for path in exposes:
        args += ["-e", path]
    return args


#: the outer process dies with the grader (pdeathsig survives the execs after it)
DIES_WITH_GRADER = ["setpriv", "--pdeathsig", "KILL", "--"]
#: pid 1 of a new pid namespace (everything it starts dies with it), in private mount and IPC namespaces
OWN_PID_AND_MOUNTS = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--ipc", "--propagation", "private",
                      "--"]


def build_argv(command: list[str], work, iso: Isolation, net_prefix: list[str],
               cgroup_fds: tuple[int, ...] = ()) -> tuple[list[str], tuple[int, ...]]:
    """The full argv that starts ``command`` in the sandbox, and the fds it needs passed.

    ``work`` is the run's :class:`~netgrade.sandbox.workfolder.WorkFolder`; ``cgroup_fds``: the
    ``cgroup.procs`` files of the run's cgroups, which the launcher joins (the caller passes them).
    """
    head, unshare = DIES_WITH_GRADER, OWN_PID_AND_MOUNTS
    if not iso.namespaces:
        return head + _prlimit(iso.limits) + _setpriv(iso.uid) + command, ()
    launcher = launcher_binary()
    if launcher is None:  # checked before any run (runner.launcher_problem); a run never starts unconfined
        raise RuntimeError("the sandbox launcher is not available")
    if iso.confined:
        opts = confined_options(iso, work.cwd, work.mount_fd, work.path, interpreter_plan())
        fds = (work.mount_fd,) if work.mount_fd is not None else ()
    else:
        masks, exposes = _static_plan()
        path = os.path.realpath(work.path)
        opts = host_view_options(os.path.join(path, work.cwd), iso, [(m, _mask_mode(m)) for m in masks],
                                 (*exposes, path))
        fds = ()
    if iso.status_fd is not None:
        fds += (iso.status_fd,)
    for fd in cgroup_fds:
        opts += ["-g", str(fd)]
    return head + net_prefix + unshare + [launcher, *opts, "--", *command], fds
