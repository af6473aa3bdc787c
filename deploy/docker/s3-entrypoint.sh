#!/bin/sh
# S3 API for deploy/compose.local.yml under the hostname minio (port 9000, path-style), with
# MinIO's contract: MINIO_ROOT_USER / MINIO_ROOT_PASSWORD hold every right; anonymous callers
# hold none of their own: what they may read comes from bucket policies, which kzone sets on
# the static-<zone> buckets it creates at start (services/kzone/storage/buckets.py).
set -eu
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}"
mkdir -p /data/master /data/volume /data/filer
cat > /tmp/s3.json <<JSON
{"identities": [
  {"name": "root", "credentials": [{"accessKey": "$MINIO_ROOT_USER", "secretKey": "$MINIO_ROOT_PASSWORD"}],
   "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
  {"name": "anonymous", "actions": []}
]}
JSON
exec weed server -dir=/data -ip.bind=0.0.0.0 -master.volumeSizeLimitMB=64 -volume.max=50 \
  -master.dir=/data/master -volume.dir.idx=/data/volume -filer -s3 -s3.port=9000 -s3.config=/tmp/s3.json
