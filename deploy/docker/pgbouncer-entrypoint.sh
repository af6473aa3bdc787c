#!/bin/sh
# PgBouncer for deploy/compose.local.yml, configured from the same variables as the production
# image (edoburu/pgbouncer): transaction pooling, users looked up in pg_shadow through
# auth_query as AUTH_USER, so every service role logs in unlisted.
set -eu
: "${DB_PASSWORD:?DB_PASSWORD is required}"
conf=/tmp/pgbouncer
mkdir -p "$conf"
printf '"%s" "%s"\n' "${AUTH_USER:-$DB_USER}" "$DB_PASSWORD" > "$conf/userlist.txt"
cat > "$conf/pgbouncer.ini" <<INI
[databases]
${DB_NAME} = host=${DB_HOST} port=${DB_PORT:-5432} dbname=${DB_NAME}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = ${LISTEN_PORT:-6432}
unix_socket_dir =
auth_type = ${AUTH_TYPE:-scram-sha-256}
auth_file = $conf/userlist.txt
auth_user = ${AUTH_USER:-$DB_USER}
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = \$1
pool_mode = ${POOL_MODE:-transaction}
max_client_conn = ${MAX_CLIENT_CONN:-1000}
default_pool_size = ${DEFAULT_POOL_SIZE:-20}
ignore_startup_parameters = extra_float_digits
admin_users = ${AUTH_USER:-$DB_USER}
INI
exec pgbouncer "$conf/pgbouncer.ini"
