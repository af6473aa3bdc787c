#!/usr/bin/env bash
# Docker Engine for the compose stack on a machine without systemd (Debian's docker.io).
#   scripts/dockerd.sh start   # no-op when a daemon already answers on DOCKER_HOST / the default socket
#   scripts/dockerd.sh stop    # stops only the daemon this script started (its pidfile), never another
# State lives under .state/docker (images, build cache: kept between runs, so builds stay warm).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${MC_DOCKER_STATE:-$PWD/.state/docker}
EXEC_ROOT=${MC_DOCKER_EXEC_ROOT:-/run/megacity-docker}   # short: containerd sockets live below it
PIDFILE=$STATE/dockerd.pid
LOG=$STATE/dockerd.log

answers() { timeout 10 docker info >/dev/null 2>&1; }

start() {
  if answers; then echo "dockerd: a daemon already answers"; return 0; fi
  command -v dockerd >/dev/null || {
    echo "dockerd: installing Debian's docker.io"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
  }
  mkdir -p "$STATE/data" "$EXEC_ROOT"
  echo "dockerd: starting (data under $STATE/data, log $LOG)"
  # setsid: the daemon outlives this shell and make; we stop it by its pid.
  setsid dockerd --data-root "$STATE/data" --exec-root "$EXEC_ROOT" -p "$PIDFILE" \
    --storage-driver overlay2 --exec-opt native.cgroupdriver=cgroupfs >"$LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    if answers; then echo "dockerd: ready (pid $(cat "$PIDFILE"))"; return 0; fi
    sleep 1
  done
  echo "dockerd: did not answer within 60 s; last log lines:" >&2
  tail -20 "$LOG" >&2
  exit 1
}

stop() {
  [ -f "$PIDFILE" ] || { echo "dockerd: none started here"; return 0; }
  pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    echo "dockerd: stopping pid $pid"
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && { echo "dockerd: still running after 30 s, killing" >&2; kill -KILL "$pid"; }
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
