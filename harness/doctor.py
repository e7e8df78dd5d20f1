"""`netgrade doctor`: which runners work on this machine, and why the others do not.

Everything here is detected for real: a user and a network namespace are
made (in a child process, as ``unshare -r -n true`` would), the kernel's
settings are read from ``/proc/sys``, the sandbox launcher is compiled, the
Docker engine is asked.  Each piece that is missing comes with the command
that fixes it.

``netgrade check`` uses the same detection: when the local runner falls back
to the host's loopback, its notice is ``fallback_reason()``, the line the
doctor prints for the local sandbox.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .runner import DOCKER, LOCAL

# The kernel's settings for unprivileged user namespaces, the value that forbids them, and the fix.
USERNS_SETTINGS = (
    ("user.max_user_namespaces", "/proc/sys/user/max_user_namespaces", "0",
     "sudo sysctl -w user.max_user_namespaces=15000"),
    ("kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone", "0",
     "sudo sysctl -w kernel.unprivileged_userns_clone=1"),
    ("kernel.apparmor_restrict_unprivileged_userns", "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
     "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"),
)
PERSIST = "echo {key}={value} | sudo tee /etc/sysctl.d/60-netgrade.conf"

# tool -> (Debian package, what needs it, required by the full local sandbox)
TOOLS = {
    "unshare": ("util-linux", "every program run (its pid, mount and IPC namespaces)", True),
    "nsenter": ("util-linux", "every program run (the check's network namespace)", True),
    "setpriv": ("util-linux", "every program run (dies with the grader, no capabilities)", True),
    "prlimit": ("util-linux", "the reference programs' limits", True),
    "ip": ("iproute2", "the catch-all link for hard-coded addresses", False),
    "nft": ("nftables", "the catch-all and a client's port redirect; without it those programs are skipped", False),
    "ss": ("iproute2", "resetting TCP sockets between checks (the docker runner)", False),
}
CC_FIX = "sudo apt-get install gcc libc6-dev"


@dataclass
class Finding:
    """One thing the doctor looked at."""
    name: str
    ok: bool
    detail: str
    fix: str | None = None


@dataclass
class RunnerState:
    """Whether a runner works here, in one line, and what would make it work."""
    name: str
    works: bool
    reason: str
    fixes: list[str] = field(default_factory=list)
    full_sandbox: bool = True


# ------------------------------------------------------------------ user namespaces
_USERNS_PROBE = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
    e = ctypes.get_errno()
    print(f"unshare(CLONE_NEWUSER|CLONE_NEWNET): {os.strerror(e)}")
    sys.exit(1)
print("ok")
"""


@functools.lru_cache(maxsize=1)
def userns_probe() -> tuple[bool, str]:
    """(True, "ok") when this user can make a user namespace owning a network namespace,
    as ``unshare -r -n true`` does; else (False, the kernel's error).  Made in a child
    process: this one stays where it is."""
    try:
        proc = subprocess.run([sys.executable, "-I", "-c", _USERNS_PROBE], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"cannot run the probe: {exc}"
    out = (proc.stdout.strip() or proc.stderr.strip() or f"exit {proc.returncode}").splitlines()[-1]
    return proc.returncode == 0, out


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def userns_settings() -> list[tuple[str, str | None, str, str]]:
    """(setting, its value here or None where this kernel has no such setting, forbidding value, fix)."""
    return [(key, _read(path), bad, fix) for key, path, bad, fix in USERNS_SETTINGS]


def userns_blocker() -> tuple[str, str] | None:
    """The setting that forbids user namespaces here, as ("key = value", fix), or None.

    ``kernel.unprivileged_userns_clone`` and the AppArmor restriction bind only
    unprivileged users; ``user.max_user_namespaces`` binds everyone."""
    for key, value, bad, fix in userns_settings():
        if value == bad and (key == "user.max_user_namespaces" or os.geteuid() != 0):
            ok_value = fix.rsplit("=", 1)[1]
            return f"{key} = {value}", f"{fix} (for good: {PERSIST.format(key=key, value=ok_value)})"
    return None


def userns_line() -> tuple[bool, str, str | None]:
    """(user namespaces work, one line saying so or why not, the fix)."""
    works, why = userns_probe()
    if works:
        return True, f"user namespaces work for uid {os.geteuid()} (unshare -r -n)", None
    blocker = userns_blocker()
    if blocker is not None:
        return False, f"user namespaces are refused: {blocker[0]} ({why})", blocker[1]
    return False, (f"user namespaces are refused ({why}) though no kernel setting forbids them: a container's"
                   " seccomp profile or another sandbox around netgrade"), (
        "run netgrade on the host, or start its container with --security-opt seccomp=unconfined")


# ------------------------------------------------------------------ the local sandbox
def local_state() -> RunnerState:
    """The full local sandbox (a network namespace per check and the launcher), or why not."""
    from .sandbox.netns import namespace_support
    support = namespace_support()
    missing = [t for t, (_pkg, _why, required) in TOOLS.items() if required and shutil.which(t) is None]
    fixes = []
    if missing:
        pkgs = sorted({TOOLS[t][0] for t in missing})
        fixes.append(f"sudo apt-get install {' '.join(pkgs)}")
    if support == "netns" and not missing:
        who = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
        return RunnerState(LOCAL, True, f"a network namespace per check and the launcher, as {who}")
    if os.geteuid() != 0 and not missing and rootless_works():
        from .sandbox import userns
        if userns.ranged():
            return RunnerState(LOCAL, True, f"as uid {os.geteuid()}: the full sandbox in a user namespace of"
                                              " netgrade's own, each program under a uid of its own from your"
                                              " subordinate ids")
        what, fix = userns.range_missing() or ("unshare --map-auto fails", "see `unshare --user --map-auto true`")
        return RunnerState(LOCAL, True, f"as uid {os.geteuid()}: the full sandbox in a user namespace of netgrade's"
                                          " own, but programs run under your uid (no uid of their own: " + what +
                                          "), so a client's traffic from a port of its own is not redirected",
                           [fix])
    return RunnerState(LOCAL, False, fallback_reason(support, missing), fixes + _local_fixes(support))


def rootless_works() -> bool:
    """True when a non-root ``netgrade check`` will start itself in a user namespace with the full sandbox."""
    from .sandbox import userns
    from .sandbox.launch import launcher_binary
    return userns.possible() and launcher_binary() is not None


def subids_finding(userns_ok: bool) -> Finding:
    """Whether runs get a uid of their own without root: subordinate ids and newuidmap/newgidmap."""
    from .sandbox import userns
    name = "subordinate ids (a uid of its own per run)"
    if os.geteuid() == 0:
        return Finding(name, True, "not needed as root: runs get uids of their own")
    missing = userns.range_missing()
    if missing is not None:
        return Finding(name, False, f"{missing[0]}: programs would run under your uid", missing[1])
    first = userns._subids(userns.SUBUID, os.geteuid())[0]
    have = f"{first[0]}:{first[1]} in {userns.SUBUID}, newuidmap and newgidmap"
    if not userns_ok:
        return Finding(name, True, have + " (of no use while user namespaces are refused)")
    if not userns.ranged():
        return Finding(name, False, have + ", but `unshare --map-auto` fails: programs would run under your uid",
                       "check /etc/subuid and /etc/subgid (a range of your own, not overlapping another user's)")
    return Finding(name, True, have + ": each run gets a uid of its own")


def _local_fixes(support: str) -> list[str]:
    if support == "netns":
        return []
    fixes = []
    if "C compiler" in support:
        fixes.append(CC_FIX)
    if os.geteuid() != 0:
        _ok, _line, fix = userns_line()
        if fix:
            fixes.append(fix)
        fixes.append("sudo netgrade check ...  (as root the full sandbox works)")
    return fixes


def fallback_reason(support: str | None = None, missing_tools: list[str] | None = None) -> str:
    """Why the full local sandbox is not available, in one line (``netgrade check``'s notice says it too)."""
    from .sandbox.netns import namespace_support
    if support is None:
        support = namespace_support()
    if missing_tools is None:
        missing_tools = [t for t, (_p, _w, required) in TOOLS.items() if required and shutil.which(t) is None]
    parts = []
    if support != "netns":
        parts.append(f"not root: {support}" if os.geteuid() != 0 and "C compiler" not in support else support)
    if missing_tools:
        parts.append("missing " + ", ".join(missing_tools))
    if os.geteuid() != 0 and support != "netns":
        ok, line, fix = userns_line()
        parts.append(line + (f" (fix: {fix.split(' (for good')[0]})" if fix and not ok else ""))
    return "; ".join(parts) or "available"


# ------------------------------------------------------------------ docker
def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _engine_name(client) -> str | None:
    try:
        return client.info().get("Name")
    except Exception:
        return None


#: how long a container's first process may take to become its command (the engine says it started once
#: runc has let it go on; on a loaded machine the exec comes a moment later)
EXEC_WAIT_S = 5.0


def _runs_here(pid: int, cmdline: bytes) -> bool:
    """Whether process ``pid`` of this machine's ``/proc`` runs ``cmdline``, waited for up to ``EXEC_WAIT_S``
    while the process is there (another command first: runc's, before its exec)."""
    until = time.monotonic() + EXEC_WAIT_S
    while True:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                seen = f.read()
        except OSError:
            return False  # no such process here
        if seen == cmdline:
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(0.02)  # no event tells a process's exec to another


def engine_is_here(client) -> tuple[bool, str]:
    """Whether the engine's containers run on this machine, where program runs enter them through
    ``/proc`` (Docker Desktop's run in a VM, a remote engine's elsewhere, and a host's engine seen
    from inside a container in a pid namespace netgrade is not in); (answer, how it was found).

    Tried for real: a container (no network, ``sleep``) is started from an image already here and
    its process looked for in this machine's ``/proc``.  With no image to start, the engine's own
    name is compared with this machine's."""
    import socket
    import uuid

    from .docker import engine, image
    candidates = [image.grader_tag(), image.DEFAULT_BASE, image.BOOTSTRAP_BASE]
    tag = next((t for t in candidates if image.have(client, t)), None)
    if tag is None:
        name = _engine_name(client)
        return name == socket.gethostname(), f"the engine names itself {name!r}, this machine is {socket.gethostname()!r}"
    marker = f"{uuid.uuid4().int % 100000 + 100000}"
    container = None
    try:
        container = client.containers.run(tag, ["sleep", marker], detach=True, network_mode="none",
                                          labels=engine.labels(f"doctor-{marker}", "doctor", os.getpid()),
                                          cap_drop=["ALL"], user="65534:65534")
        container.reload()
        pid = int(container.attrs["State"]["Pid"])
        here = pid > 0 and _runs_here(pid, f"sleep\0{marker}\0".encode())
        return here, (f"a container's process (pid {pid}) is {'' if here else 'not '}in this machine's /proc")
    except Exception as exc:
        return False, f"cannot start a test container from {tag}: {engine.short_error(exc)}"
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except Exception:
                pass


def docker_state(findings: list[Finding]) -> RunnerState:
    """The docker runner (two containers per worker, entered from here, or the whole grading inside a
    container where that cannot work), or why not."""
    where = docker_host()
    fixes: list[str] = []
    problems: list[str] = []
    try:
        import docker  # noqa: F401
    except ImportError:
        findings.append(Finding("docker SDK", False, "the docker SDK for Python is not installed",
                                f"{sys.executable} -m pip install docker"))
        return RunnerState(DOCKER, False, "the docker SDK for Python is not installed",
                           [f"{sys.executable} -m pip install docker"])
    from .docker import engine, image
    client = None
    try:
        client = engine.connect(timeout=8)
        version = client.version().get("Version", "?")
        findings.append(Finding("docker engine", True, f"Docker {version} answers at {where}"))
    except engine.EngineError as exc:
        fix = _engine_fix(str(exc), where)
        findings.append(Finding("docker engine", False, str(exc).split("; start dockerd")[0], fix))
        problems.append(f"no engine answers at {where}")
        fixes.append(fix)
    except Exception as exc:  # an engine that answered the ping but not the version
        findings.append(Finding("docker engine", False, f"{where}: {engine.short_error(exc)}"))
        problems.append(f"the engine at {where} fails: {engine.short_error(exc)}")
    # what only the direct mode needs; without it `--runner docker` grades inside a container instead
    direct_out: list[str] = []
    if client is not None:
        here, how = engine_is_here(client)
        findings.append(Finding("engine on this machine", True, how + ("" if here else
                                ": the direct mode (entering the containers from here) is out; --runner docker"
                                " grades inside a container")))
        if not here:
            direct_out.append(f"the engine at {where} is not on this machine")
    if os.geteuid() != 0:
        findings.append(Finding("root for docker", True, "not root: --runner docker grades inside a container"
                                " (the direct mode enters the containers' namespaces, as root)"))
        direct_out.append("not root")
    tools = [t for t in ("nsenter", "setpriv", "unshare", "ss") if shutil.which(t) is None]
    if tools:
        direct_out.append("missing " + ", ".join(tools))
    if client is not None:
        tag = image.grader_tag()
        if image.have(client, tag):
            findings.append(Finding("grading image", True, f"{tag} is there (current for this netgrade)"))
        else:
            others = _other_grader_tags(client, tag)
            base = image.local_base(client)
            stale = f" (only older ones: {', '.join(others[:3])})" if others else ""
            if base is not None:
                cc_ok = shutil.which("cc") or shutil.which("gcc")
                fix = f"netgrade image build --base {base}" + ("" if cc_ok else f"  (after: {CC_FIX})")
                findings.append(Finding("grading image", bool(cc_ok),
                                        f"{tag} is not built yet{stale}; the base {base} is here, so"
                                        " `--runner docker` builds it in seconds", fix))
                if not cc_ok:
                    problems.append("no C compiler to build the grading image's launcher")
                    fixes.append(CC_FIX)
            else:
                fix = (f"netgrade image build  (pulls {image.DEFAULT_BASE}); offline: netgrade image bootstrap"
                       f" && netgrade image build --base {image.BOOTSTRAP_BASE}")
                findings.append(Finding("grading image", False, f"{tag} is not built{stale} and no base image is"
                                        " here", fix))
                problems.append(f"the grading image {tag} is not built")
                fixes.append(fix)
    if problems:
        return RunnerState(DOCKER, False, "; ".join(problems), list(dict.fromkeys(fixes)))
    if direct_out:
        return RunnerState(DOCKER, True, f"the whole grading inside a container (netgrade-full), engine at {where}"
                                           f" (the direct mode is out: {'; '.join(direct_out)})")
    return RunnerState(DOCKER, True, f"two containers per worker, engine at {where}")


def _engine_fix(message: str, where: str) -> str:
    if "ermission denied" in message and where.startswith("unix://"):
        user = os.environ.get("USER") or str(os.geteuid())
        return f"sudo usermod -aG docker {user}  (then log in again)"
    if where.startswith("unix://"):
        return "sudo systemctl start docker  (no systemd: sudo dockerd &; Debian: sudo apt-get install docker.io)"
    return f"start the engine at {where}, or unset DOCKER_HOST"


def _other_grader_tags(client, current: str) -> list[str]:
    from .docker.image import GRADER_REPO
    try:
        return [t for img in client.images.list(name=GRADER_REPO) for t in img.tags if t != current]
    except Exception:
        return []


# ------------------------------------------------------------------ the report
def examine() -> tuple[list[Finding], list[RunnerState]]:
    """Everything the doctor looks at, and each runner's state."""
    findings: list[Finding] = []
    uid = os.geteuid()
    rootless = uid != 0 and rootless_works()
    findings.append(Finding("root", uid == 0 or rootless, "running as root" if uid == 0 else (
        f"running as uid {uid}, not root: the local sandbox runs in a user namespace of its own" if rootless else
        f"running as uid {uid}, not root"),
        None if uid == 0 or rootless else "sudo netgrade ...  (or allow user namespaces: see below)"))
    ok, line, fix = userns_line()
    findings.append(Finding("user namespaces", ok, line, fix))
    findings.append(subids_finding(ok))
    for key, value, bad, kfix in userns_settings():
        if value is None:
            findings.append(Finding(key, True, "not in this kernel (nothing to forbid)"))
        else:
            forbids = value == bad and (key == "user.max_user_namespaces" or uid != 0)
            findings.append(Finding(key, not forbids, f"{value}" + (" (forbids user namespaces)" if forbids else ""),
                                    kfix if forbids else None))
    for tool, (pkg, why, _required) in TOOLS.items():
        path = shutil.which(tool)
        findings.append(Finding(tool, path is not None, path or f"not found: needed for {why}",
                                None if path else f"sudo apt-get install {pkg}"))
    cc = shutil.which("cc") or shutil.which("gcc")
    from .sandbox.launch import launcher_binary
    launcher = launcher_binary() if cc else None
    findings.append(Finding("C compiler", bool(cc and launcher),
                            (f"{cc}; the sandbox launcher is built: {launcher}" if launcher else
                             f"{cc} cannot build the sandbox launcher (launcher.c)") if cc else
                            "no cc or gcc: the sandbox launcher (launcher.c) cannot be built", None if launcher else CC_FIX))
    local = local_state()
    fallback = RunnerState(f"{LOCAL} (host fallback)", True,
                           "the host's loopback, one check at a time; TFTP's port 69 and lab addresses are skipped",
                           full_sandbox=False)
    docker = docker_state(findings)
    return findings, [local, docker, fallback]


def report(out=None) -> int:
    """Print the doctor's report; 0 when at least one full sandbox works here, else 1."""
    out = out or sys.stdout
    findings, runners = examine()
    w = out.write
    w("netgrade doctor: the runners on this machine\n\n")
    for r in runners:
        w(f"  {r.name:<22} {'works' if r.works else 'NO':<6} {r.reason}\n")
        for fix in r.fixes:
            w(f"  {'':<22} {'fix:':<6} {fix}\n")
    w("\nwhat was checked:\n")
    for f in findings:
        w(f"  {'ok' if f.ok else 'MISSING':<8} {f.name:<46} {f.detail}\n")
        if f.fix:
            w(f"  {'':<8} {'':<46} fix: {f.fix}\n")
    good = [r.name for r in runners if r.works and r.full_sandbox]
    if good:
        w(f"\nfull sandbox here: {', '.join(good)} (netgrade check --runner {good[0].split()[0]})\n")
        return 0
    w("\nno full sandbox works here: `netgrade check` grades on the host's loopback and skips what it cannot"
      " run; apply a fix above\n")
    return 1
