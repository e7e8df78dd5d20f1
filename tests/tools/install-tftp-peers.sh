#!/bin/sh
# Unpack the real TFTP implementations the interop tests and the benchmark
# talk to (tftpd-hpa, tftp-hpa, atftpd, atftp) into DIR, without installing
# them: `dpkg -x` runs no maintainer script, so no tftpd daemon is started on
# the host, and atftpd and tftpd-hpa (which conflict as packages) can sit side
# by side.  The tests look for the binaries in $NETGRADE_PEERS (this DIR).
#
# Usage: tests/tools/install-tftp-peers.sh [DIR]   (default /opt/netgrade-peers)
# Idempotent: does nothing when every binary is already there and runs.
set -eu

DIR=${1:-/opt/netgrade-peers}
BINARIES="usr/sbin/in.tftpd usr/bin/tftp usr/sbin/atftpd usr/bin/atftp"

# Plain tools the tests drive the peers with (see tests/tools/tftp_peers.py): curl is
# a client under test, strace lets tftpd-hpa run without privileges.
TOOLS="curl strace"

runs() {
    for t in $TOOLS; do
        command -v "$t" >/dev/null 2>&1 || return 1
    done
    # each binary is there and its shared libraries resolve
    for b in $BINARIES; do
        [ -x "$DIR/$b" ] || return 1
        ! ldd "$DIR/$b" 2>/dev/null | grep -q 'not found' || return 1
    done
}

if runs; then
    echo "install-tftp-peers: already in $DIR"
    exit 0
fi

mkdir -p "$DIR"
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
apt-get update -qq
# apt's sandbox user must be able to write where the packages land
chmod 755 "$download"; chown _apt "$download" 2>/dev/null || true
(cd "$download" && apt-get download -qq tftpd-hpa tftp-hpa atftpd atftp)
for deb in "$download"/*.deb; do
    dpkg -x "$deb" "$DIR"
done
missing_tools=""
for t in $TOOLS; do
    command -v "$t" >/dev/null 2>&1 || missing_tools="$missing_tools $t"
done
if [ -n "$missing_tools" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing_tools >/dev/null
fi
# Their one shared library that a minimal Debian lacks (TCP wrappers) is a
# plain library package: installing it starts nothing.
if ldd "$DIR"/usr/sbin/in.tftpd "$DIR"/usr/sbin/atftpd 2>/dev/null | grep -q 'libwrap.so.0 => not found'; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libwrap0 >/dev/null
fi

if ! runs; then
    echo "install-tftp-peers: binaries missing or not runnable in $DIR:" >&2
    for b in $BINARIES; do
        ls -l "$DIR/$b" >&2 || true
        ldd "$DIR/$b" 2>&1 | grep 'not found' >&2 || true
    done
    exit 1
fi
echo "install-tftp-peers: installed in $DIR"
