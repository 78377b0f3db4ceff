#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server from the machine's own binaries in a
# temporary folder and prints its URL. initdb refuses to run as root, so as
# root the cluster belongs to Debian's postgres user. Stop it with
#   scripts/start-throwaway-postgres.sh --stop FOLDER
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin" >&2; exit 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = "--stop" ]; then
  as_owner "$bin/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
  rm -rf "$2"
  exit 0
fi
folder=$(mktemp -d /tmp/karna-pg-XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres:postgres "$folder"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_owner "$bin/initdb" -D "$folder/data" -U karna -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w \
  -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c max_connections=200 ${KARNA_PG_OPTIONS:-}" start >/dev/null
echo "postgres://karna@127.0.0.1:$port/postgres $folder"
