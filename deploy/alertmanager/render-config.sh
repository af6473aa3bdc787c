#!/bin/sh
# Render alertmanager.yml's ${VAR} placeholders from the environment, then (optionally) run
# Alertmanager on the result. Alertmanager itself reads no environment variables; this keeps
# receiver URLs, addresses and the SMTP password out of git.
#
#   render-config.sh SRC OUT [-- COMMAND ARGS...]
#
# Comment lines are copied as they are. Fails (exit 2, naming the variable) when a placeholder's variable is unset, or when a value
# holds a quote or a newline (it is pasted into a single-quoted YAML string).
# ALERTMANAGER_TEMPLATES_DIR defaults to the templates/ folder beside SRC.
# POSIX sh + awk only: runs in the busybox-based Alertmanager image and on Debian.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 SRC OUT [-- COMMAND ARGS...]" >&2; exit 64; }
src=$1 out=$2
shift 2
: "${ALERTMANAGER_TEMPLATES_DIR:=$(cd "$(dirname "$src")" && pwd)/templates}"
export ALERTMANAGER_TEMPLATES_DIR
umask 077  # the rendered file holds the SMTP password
trap 'rm -f "$out.tmp"' EXIT
awk '
/^[ \t]*#/ { print; next }
{
  line = $0; done = ""
  while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
    name = substr(line, RSTART + 2, RLENGTH - 3)
    if (!(name in ENVIRON)) { printf "render-config: %s is not set\n", name > "/dev/stderr"; exit 2 }
    value = ENVIRON[name]
    if (value ~ /['\''"\n\r]/) { printf "render-config: %s holds a quote or newline\n", name > "/dev/stderr"; exit 2 }
    done = done substr(line, 1, RSTART - 1) value
    line = substr(line, RSTART + RLENGTH)
  }
  print done line
}' "$src" > "$out.tmp"
mv "$out.tmp" "$out"
if [ "${1:-}" = "--" ]; then
  shift
  exec "$@"
fi
