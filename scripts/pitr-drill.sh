#!/usr/bin/env bash
# The point-in-time restore drill for PostgreSQL with pgBackRest (Debian's packages), on one machine, in a
# temporary folder, loopback only:
#   1. a PostgreSQL with WAL archiving to a pgBackRest repository; a full base backup;
#   2. Kärna writes patients through its API while it runs; at time T the drill notes what is stored (resources,
#      versions, audit records, the audit chain's head); writes go on after T;
#   3. the cluster is stopped and restored to T from the backup and the archived WAL;
#   4. it checks that what is stored equals what was noted at T, and that `karna audit verify` finds the chain
#      intact with the same head.
# Prints a report (markdown) on stdout; exits 1 if any check fails. Needs root or the postgres user's rights
# (initdb and pgBackRest run as postgres), curl, psql, and `swift build` done (or KARNA_BIN).
#
#   scripts/pitr-drill.sh [WRITES_BEFORE] [WRITES_AFTER]
set -euo pipefail
cd "$(dirname "$0")/.."
before="${1:-200}" after="${2:-100}"
karna="${KARNA_BIN:-$PWD/.build/debug/karna}"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
command -v pgbackrest >/dev/null || { echo "pgbackrest is not installed (apt-get install pgbackrest)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work=$(mktemp -d /tmp/karna-pitr-XXXXXX)
chmod 755 "$work"
mkdir -p "$work/log" "$work/lock" "$work/spool" "$work/repo"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work"
pgport=$(free_port) port=$(free_port)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  as_pg "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
started=$(date +%s)
say() { echo "$(( $(date +%s) - started )) s: $*" >&2; }

cat > "$work/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/repo
repo1-retention-full=2
log-path=$work/log
lock-path=$work/lock
spool-path=$work/spool
log-level-console=warn
start-fast=y
[karna]
pg1-path=$work/data
pg1-port=$pgport
pg1-socket-path=$work
pg1-user=karna
CONF
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pgbackrest.conf"
backrest() { as_pg pgbackrest --config="$work/pgbackrest.conf" --stanza=karna "$@"; }

say "initdb and start PostgreSQL with WAL archiving to pgBackRest"
as_pg "$bin/initdb" -D "$work/data" -U karna -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$work/data/postgresql.conf" <<PGCONF
listen_addresses = '127.0.0.1'
port = $pgport
unix_socket_directories = '$work'
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config=$work/pgbackrest.conf --stanza=karna archive-push %p'
max_wal_senders = 3
PGCONF
as_pg "$bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w start >/dev/null
url="postgres://karna@127.0.0.1:$pgport/postgres"
q() { psql "$url" -Atq -c "$1"; }
backrest stanza-create
backrest check

say "Kärna: migrate, start"
client_secret="drill-$(date +%s)-secret-secret"
export KARNA_DATABASE_URL="$url" KARNA_BOOTSTRAP_CLIENT_ID=drill KARNA_BOOTSTRAP_CLIENT_SECRET="$client_secret" KARNA_PASSWORD_COST=10 \
       KARNA_DEMO_CREDENTIALS="$work/demo.json" KARNA_NOTIFY="file:$work/notifications.jsonl" KARNA_RATE_API=10000000
"$karna" migrate >/dev/null
"$karna" serve --port "$port" > "$work/karna.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.5; done
token=$(curl -sf -d grant_type=client_credentials -d scope='system/*.cruds' -u "drill:$client_secret" "http://127.0.0.1:$port/auth/token" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
write() {  # $1 patients, named with prefix $2
  for i in $(seq 1 "$1"); do
    curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/fhir+json' \
      -d "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"$2$i\"}],\"gender\":\"female\",\"birthDate\":\"1980-01-01\"}" \
      "http://127.0.0.1:$port/fhir/Patient"
  done
}

say "full base backup"
write 20 Fore
backrest backup --type=full
say "writes before T: $before patients"
write "$before" Innan
sleep 1
target=$(q "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
snapshot() { q "SELECT (SELECT count(*) FROM resource) || ' ' || (SELECT count(*) FROM resource_version) || ' ' || (SELECT count(*) FROM audit_log) || ' ' || coalesce((SELECT seq || ':' || hash FROM audit_log ORDER BY seq DESC LIMIT 1), '0:')"; }
at_target=$(snapshot)
sleep 1
say "T = $target; stored then: $at_target; writes after T: $after patients"
write "$after" Efter
at_end=$(snapshot)
q "SELECT pg_switch_wal()" >/dev/null
backrest check   # waits until the WAL written so far is in the archive

say "stop Kärna and PostgreSQL; restore to T"
kill "$server"; wait "$server" 2>/dev/null || true; server=""
as_pg "$bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
restore_started=$(date +%s%N)
backrest --delta --type=time "--target=$target" --target-action=promote restore
as_pg "$bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w -t 300 start >/dev/null
for _ in $(seq 1 120); do [ "$(q 'SELECT pg_is_in_recovery()')" = f ] && break; sleep 0.5; done
restore_seconds=$(python3 -c "print(f\"{($(date +%s%N) - $restore_started) / 1e9:.1f}\")")
after_restore=$(snapshot)
verify=$("$karna" audit verify 2>&1) || { echo "$verify" >&2; exit 1; }
after_names=$(q "SELECT count(*) FROM resource_version v WHERE v.resource_type = 'Patient' AND convert_from(v.json, 'UTF8') LIKE '%\"Efter%'")

read -r res_t ver_t aud_t head_t <<< "$at_target"
read -r res_e ver_e aud_e head_e <<< "$at_end"
read -r res_r ver_r aud_r head_r <<< "$after_restore"
verdict=passed
[ "$at_target" = "$after_restore" ] || verdict=FAILED
[ "$after_names" = 0 ] || verdict=FAILED
echo "$verify" | grep -q "chain head ${head_t%%:*} ${head_t#*:}" || verdict=FAILED

cat <<REPORT
| | resources | versions | audit records | audit chain head (sequence) |
|---|---|---|---|---|
| at T ($target) | $res_t | $ver_t | $aud_t | ${head_t%%:*} |
| at the end of the writes | $res_e | $ver_e | $aud_e | ${head_e%%:*} |
| after the restore to T | $res_r | $ver_r | $aud_r | ${head_r%%:*} |

- Restore to T: $restore_seconds s (pgBackRest delta restore, WAL replay, promotion).
- Patients written after T found after the restore: $after_names (expected 0).
- \`karna audit verify\` after the restore: $verify
- The chain head after the restore is the one noted at T: $( [ "${head_r}" = "${head_t}" ] && echo yes || echo NO ).
- Drill: **$verdict** ($before writes before T, $after after; pgBackRest $(pgbackrest version | cut -d' ' -f2), PostgreSQL $("$bin/postgres" --version | awk '{print $3}')).
REPORT
[ "$verdict" = passed ]
