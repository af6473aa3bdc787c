#!/bin/sh
# PostgreSQL for deploy/compose.local.yml, with the official image's contract: POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB create the cluster on first start (PGDATA empty);
# password (SCRAM) logins over TCP, trust only on the container's own Unix socket.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
sock=/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$sock" start >/dev/null
  if [ "$db" != postgres ]; then
    psql -h "$sock" -U "$user" -d postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$db\""
  fi
  pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
  echo "postgres: cluster initialised (database $db)"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories="$sock"
