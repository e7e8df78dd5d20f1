"""Run a command as this (non-root) user where no user namespace can be made: user.max_user_namespaces = 0.

  python3 no-user-namespaces.py COMMAND [ARGS...]

The limit is set for real, in a user namespace of this process's own that
maps only its own uid (so the command is still that non-root user, without
capabilities once it is executed): nested user namespaces then fail with
ENOSPC, as on a machine whose administrator set the sysctl to 0.  Nothing
changes outside this process tree.
"""
import ctypes
import os
import sys

CLONE_NEWUSER = 0x10000000
libc = ctypes.CDLL(None, use_errno=True)
uid, gid = os.getuid(), os.getgid()
if libc.unshare(CLONE_NEWUSER) != 0:
    sys.exit(f"no-user-namespaces: unshare(CLONE_NEWUSER): {os.strerror(ctypes.get_errno())}")
for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
    with open(f"/proc/self/{name}", "w") as f:
        f.write(text)
with open("/proc/sys/user/max_user_namespaces", "w") as f:  # this user namespace's limit only
    f.write("0")
os.execvp(sys.argv[1], sys.argv[1:])
