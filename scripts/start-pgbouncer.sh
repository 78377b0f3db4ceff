#!/usr/bin/env bash
# Starts Debian's PgBouncer in transaction mode in front of a PostgreSQL URL (as the region runs it between
# several Kärna nodes and the database) and prints the URL through it and its folder. Stop it with
#   scripts/start-pgbouncer.sh --stop FOLDER
# As root it runs as Debian's postgres user (PgBouncer refuses root).
set -euo pipefail
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = "--stop" ]; then
  kill "$(cat "$2/pgbouncer.pid")" 2>/dev/null || true
  rm -rf "$2"
  exit 0
fi
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || { echo "pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }
url="$1" pool_size="${2:-20}"
read -r user host port database < <(python3 -c '
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1]); print(p.username, p.hostname, p.port or 5432, p.path.lstrip("/") or "postgres")' "$url")
folder=$(mktemp -d /tmp/karna-pgbouncer-XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres:postgres "$folder"
listen=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$folder/pgbouncer.ini" <<INI
[databases]
$database = host=$host port=$port dbname=$database user=$user
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $listen
unix_socket_dir = $folder
auth_type = any
pool_mode = transaction
default_pool_size = $pool_size
max_client_conn = 1000
logfile = $folder/pgbouncer.log
pidfile = $folder/pgbouncer.pid
INI
[ "$(id -u)" = 0 ] && chown postgres:postgres "$folder/pgbouncer.ini"
as_owner "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" -d "$folder/pgbouncer.ini"
for _ in $(seq 1 50); do [ -s "$folder/pgbouncer.pid" ] && break; sleep 0.1; done
echo "postgres://$user@127.0.0.1:$listen/$database $folder"
