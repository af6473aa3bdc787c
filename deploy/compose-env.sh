#!/usr/bin/env sh
# Print a .env with fresh random secrets for docker-compose.yml (which has none baked in):
#   deploy/compose-env.sh > .env
# Hex values are URL-safe, so they can sit inside the database and Redis URLs unescaped.
set -eu
secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
echo "POSTGRES_PASSWORD=$(secret)"
echo "REDIS_PASSWORD=$(secret)"
echo "NATS_USER=megacity"
echo "NATS_PASSWORD=$(secret)"
echo "MINIO_ROOT_USER=megacity"
echo "MINIO_ROOT_PASSWORD=$(secret)"
# The object store's public address, as browsers reach it (presigned URLs sign this host).
echo "S3_PUBLIC_URL=${S3_PUBLIC_URL:-https://objects.dreamseedai.com}"
echo "GRAFANA_ADMIN_PASSWORD=$(secret)"
# auth's PII encryption key: a Fernet key (32 random bytes, url-safe base64).
echo "AUTH_PII_KEYS=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
# tenant's PII keys: Fernet keys for roster e-mails/phones, and the separate blind-index (HMAC) key.
echo "TENANT_PII_KEYS=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
echo "TENANT_PII_INDEX_KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
# Alertmanager's receivers (deploy/alertmanager/alertmanager.yml): .invalid placeholders that
# deliver nowhere; put the real mail relay, mailboxes and webhooks here before production.
echo "ALERTMANAGER_SMTP_SMARTHOST=mail.megacity.invalid:587"
echo "ALERTMANAGER_SMTP_FROM=alertmanager@megacity.invalid"
echo "ALERTMANAGER_SMTP_USERNAME="
echo "ALERTMANAGER_SMTP_PASSWORD="
echo "ALERTMANAGER_SMTP_REQUIRE_TLS=true"
for team in PAGER HEARTBEAT SRE BACKEND ML; do
  echo "ALERTMANAGER_${team}_WEBHOOK_URL=https://hooks.megacity.invalid/$(echo "$team" | tr 'A-Z' 'a-z')"
done | sed 's/ALERTMANAGER_HEARTBEAT_WEBHOOK_URL/ALERTMANAGER_HEARTBEAT_URL/'
for team in SRE BACKEND ML; do
  echo "ALERTMANAGER_${team}_EMAIL=$(echo "$team" | tr 'A-Z' 'a-z')@megacity.invalid"
done
for svc in AUTH TENANT EXAM CAT KZONE INFERENCE CLASSROOM ARENA; do
  echo "${svc}_DB_APP_PASSWORD=$(secret)"
  echo "${svc}_DB_OWNER_PASSWORD=$(secret)"
  echo "${svc}_SECRET_KEY=$(secret)"
done
# web keeps no database: its secret key only.
echo "WEB_SECRET_KEY=$(secret)"
