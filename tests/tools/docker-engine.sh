#!/bin/sh
# Start (or stop) a Docker engine for netgrade's Docker runner on a machine without one.
#
#   tests/tools/docker-engine.sh start   install docker.io and debootstrap if missing; start
#                                  dockerd in the background unless an engine answers
#   tests/tools/docker-engine.sh stop    stop the dockerd that `start` started (if any)
#
# The engine is started with no bridge network and no iptables rules: netgrade's
# containers have no network, or share only the grader container's loopback.
set -eu
PIDFILE=${NETGRADE_DOCKERD_PIDFILE:-/run/netgrade-dockerd.pid}
LOG=${NETGRADE_DOCKERD_LOG:-/tmp/netgrade-dockerd.log}

answers() {
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

case "${1:-}" in
start)
    need=""
    command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
    command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
    [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || need="$need libc6-dev"
    if [ -n "$need" ]; then
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
    fi
    if answers; then
        echo "docker-engine: an engine already answers" >&2
        exit 0
    fi
    setsid dockerd --bridge=none --iptables=false --ip6tables=false >"$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    i=0
    while ! answers; do
        i=$((i + 1))
        if [ $i -gt 120 ] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
            echo "docker-engine: dockerd did not come up; its log ends with:" >&2
            tail -5 "$LOG" >&2
            rm -f "$PIDFILE"
            exit 0  # the Docker tests then skip (or fail under NETGRADE_REQUIRE_DOCKER=1)
        fi
        sleep 0.5  # dockerd offers no readiness signal but its socket answering
    done
    echo "docker-engine: dockerd started (pid $(cat "$PIDFILE"))" >&2
    ;;
stop)
    if [ -f "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 40 ]; do i=$((i + 1)); sleep 0.25; done
        rm -f "$PIDFILE"
    fi
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
