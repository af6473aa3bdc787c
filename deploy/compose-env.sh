#!/usr/bin/env sh
# Print a .env with fresh random secrets for docker-compose.yml (which has none baked in):
#   deploy/compose-env.sh > .env
# Hex values are URL-safe, so they can sit inside the database and Redis URLs unescaped.
set -eu
secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
echo "POSTGRES_PASSWORD=$(secret)"
echo "REDIS_PASSWORD=$(secret)"
echo "MINIO_ROOT_USER=megacity"
echo "MINIO_ROOT_PASSWORD=$(secret)"
echo "GRAFANA_ADMIN_PASSWORD=$(secret)"
# auth's PII encryption key: a Fernet key (32 random bytes, url-safe base64).
echo "AUTH_PII_KEYS=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
for svc in AUTH TENANT EXAM CAT KZONE INFERENCE; do
  echo "${svc}_DB_APP_PASSWORD=$(secret)"
  echo "${svc}_DB_OWNER_PASSWORD=$(secret)"
  echo "${svc}_SECRET_KEY=$(secret)"
done
