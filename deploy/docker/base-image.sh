#!/usr/bin/env bash
# The local base image `megacity/base:bookworm`, made from Debian packages, for machines that
# reach no image registry (deploy/compose.local.yml builds every image FROM it):
#   mmdebstrap (minbase + python3) -> rootfs tar -> docker import.
# Cached under .state/compose/ keyed by this script's hash: a second run only re-imports the tar
# (or does nothing when the image is already there).
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=${MC_BASE_IMAGE:-megacity/base:bookworm}
PACKAGES=python3,python3-venv,ca-certificates,tzdata,procps
KEY=$(sha256sum "$0" | cut -c1-12)
CACHE=.state/compose
TAR=$CACHE/base-$KEY.tar

if [ "$(docker image inspect -f '{{index .Config.Labels "megacity.base"}}' "$IMAGE" 2>/dev/null)" = "$KEY" ]; then
  echo "base image: $IMAGE is current ($KEY)"; exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$TAR" ]; then
  command -v mmdebstrap >/dev/null || {
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mmdebstrap >/dev/null
  }
  echo "base image: mmdebstrap bookworm ($PACKAGES), about a minute"
  start=$(date +%s)
  PART=$CACHE/base-$KEY.partial.tar  # mmdebstrap picks the output format by the extension
  rm -rf "$PART"
  mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
    bookworm "$PART" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  mv "$PART" "$TAR"
  echo "base image: rootfs built in $(( $(date +%s) - start )) s ($(du -h "$TAR" | cut -f1))"
  find "$CACHE" -maxdepth 1 -name 'base-*.tar' ! -name "base-$KEY.tar" -delete
fi
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  --change "LABEL megacity.base=$KEY" \
  --change 'CMD ["/bin/bash"]' \
  "$TAR" "$IMAGE" >/dev/null
echo "base image: imported $IMAGE ($KEY)"
