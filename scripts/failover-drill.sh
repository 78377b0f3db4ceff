#!/usr/bin/env bash
# The failover drill: two stateless Kärna nodes behind HAProxy, PgBouncer in transaction mode, and a PostgreSQL
# primary with a synchronous streaming replica managed by Patroni with etcd (all Debian packages), started on one
# machine in a temporary folder on loopback addresses. Under a write load through HAProxy it kills the primary
# (Patroni and PostgreSQL, kill -9, as a lost machine), lets Patroni promote the replica, and checks:
#   - every write that was acknowledged (201 with an id) is stored after the failover;
#   - the interruption: the longest time without a successful write, and how many writes failed;
#   - a token issued through one node works on the other; the audit chain (two writers) is intact.
# Prints a markdown report; exits 1 if an acknowledged write is missing or the chain is broken. Run as root
# (Patroni and PostgreSQL run as the postgres user). Needs `swift build` done (or KARNA_BIN).
#
#   scripts/failover-drill.sh [SECONDS_OF_LOAD] [WRITERS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-40}" writers="${2:-4}"
karna="${KARNA_BIN:-$PWD/.build/debug/karna}"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
for tool in patroni etcd haproxy pgbouncer; do command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "$tool is not installed" >&2; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "failover-drill: run as root" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
started=$(date +%s)
say() { echo "$(( $(date +%s) - started )) s: $*" >&2; }

work=$(mktemp -d /tmp/karna-failover-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  pkill -9 -f "$work" 2>/dev/null || true
  [ -n "${pgbouncer_folder:-}" ] && scripts/start-pgbouncer.sh --stop "$pgbouncer_folder" 2>/dev/null || true
  sleep 1
  # KARNA_DRILL_LOGS=DIR keeps the nodes' logs (Kärna, Patroni, HAProxy's peers) for a look afterwards.
  if [ -n "${KARNA_DRILL_LOGS:-}" ]; then mkdir -p "$KARNA_DRILL_LOGS" && cp "$work"/*.log "$KARNA_DRILL_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

etcd_port=$(free_port) etcd_peer=$(free_port)
say "etcd"
etcd --name drill --data-dir "$work/etcd" --enable-v2=true \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "drill=http://127.0.0.1:$etcd_peer" > "$work/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$etcd_port/health" >/dev/null && break; sleep 0.2; done

declare -A pg_port api_port
for node in pg1 pg2; do
  pg_port[$node]=$(free_port); api_port[$node]=$(free_port)
  mkdir -p "$work/$node"
  cat > "$work/$node.yml" <<YAML
scope: karna-drill
namespace: /karna/
name: $node
restapi:
  listen: 127.0.0.1:${api_port[$node]}
  connect_address: 127.0.0.1:${api_port[$node]}
etcd:
  host: 127.0.0.1:$etcd_port
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    # An acknowledged commit is on the replica too: a failover loses none (Patroni drops the requirement when
    # no replica is left, so the survivor keeps taking writes).
    synchronous_mode: true
    postgresql:
      use_pg_rewind: false
      parameters:
        max_connections: 200
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 5
        max_replication_slots: 5
        jit: "off"
        random_page_cost: 1.1
  initdb:
  - encoding: UTF8
  - locale: C.UTF-8
  pg_hba:
  - local all all trust
  - host replication replicator 127.0.0.1/32 trust
  - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${pg_port[$node]}
  connect_address: 127.0.0.1:${pg_port[$node]}
  data_dir: $work/$node/data
  bin_dir: $bin
  pgpass: $work/$node/pgpass
  authentication:
    superuser:
      username: karna
      password: drill
    replication:
      username: replicator
      password: drill
  parameters:
    unix_socket_directories: '$work/$node'
YAML
done
chown -R postgres:postgres "$work"
say "Patroni: pg1 bootstraps the cluster, pg2 follows"
as_pg patroni "$work/pg1.yml" > "$work/pg1.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${api_port[pg1]}/primary")" = 200 ] && break; sleep 0.5; done
as_pg patroni "$work/pg2.yml" > "$work/pg2.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 240); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${api_port[pg2]}/sync")" = 200 ] && break; sleep 0.5; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${api_port[pg2]}/sync")" = 200 ] || { tail -30 "$work/pg2.log" >&2; echo "pg2 is not a synchronous replica" >&2; exit 1; }

k1=$(free_port) k2=$(free_port) ha_pg=$(free_port) ha_http=$(free_port)
cat > "$work/haproxy.cfg" <<CFG
global
  maxconn 2000
defaults
  timeout connect 2s
  timeout client 120s
  timeout server 120s
# PostgreSQL: only the node Patroni calls primary takes connections; connections to a node that stops being it are cut.
listen postgres_primary
  bind 127.0.0.1:$ha_pg
  mode tcp
  option httpchk OPTIONS /primary
  http-check expect status 200
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
  server pg1 127.0.0.1:${pg_port[pg1]} check port ${api_port[pg1]}
  server pg2 127.0.0.1:${pg_port[pg2]} check port ${api_port[pg2]}
# Kärna: round robin over the nodes that say they are ready.
listen karna_http
  bind 127.0.0.1:$ha_http
  mode http
  balance roundrobin
  option httpchk GET /health/ready
  default-server inter 1s fall 2 rise 1
  server k1 127.0.0.1:$k1 check
  server k2 127.0.0.1:$k2 check
CFG
haproxy -f "$work/haproxy.cfg" -D -p "$work/haproxy.pid"
say "HAProxy in front of PostgreSQL (:$ha_pg) and Kärna (:$ha_http); PgBouncer in transaction mode"
read -r pooled pgbouncer_folder < <(scripts/start-pgbouncer.sh "postgres://karna@127.0.0.1:$ha_pg/postgres" 40)

secret="drill-$(date +%s)-failover-secret"
export KARNA_DATABASE_URL="$pooled" KARNA_DATABASE_POOLER=pgbouncer KARNA_BOOTSTRAP_CLIENT_ID=drill KARNA_BOOTSTRAP_CLIENT_SECRET="$secret" \
       KARNA_PASSWORD_COST=10 KARNA_DEMO_CREDENTIALS="$work/demo.json" KARNA_NOTIFY="file:$work/notifications.jsonl" KARNA_RATE_API=10000000 \
       KARNA_DATABASE_WAIT_SECONDS=5 KARNA_DATABASE_POOL_SIZE=10 \
       KARNA_BASE_URL="http://127.0.0.1:$ha_http/fhir"   # one public address: the token's issuer and audience on every node
"$karna" migrate >/dev/null
say "two Kärna nodes"
"$karna" serve --port "$k1" > "$work/k1.log" 2>&1 &
pids+=($!)
sleep 3   # the first start makes the demo setup; the second finds it (both at once would each make demo users)
"$karna" serve --port "$k2" > "$work/k2.log" 2>&1 &
pids+=($!)
for port in $k1 $k2; do for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.5; done; done
sleep 2

primary_node() {
  for node in pg1 pg2; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${api_port[$node]}/primary")" = 200 ]; then echo "$node"; fi
  done
  return 0
}
old=$(primary_node)
say "load: $writers writers for $duration s through HAProxy; the primary ($old) is killed a third of the way in"
python3 - "$ha_http" "$k1" "$k2" "$secret" "$duration" "$writers" "$work/acknowledged.txt" "$work/load.json" <<'PY' &
import json, sys, threading, time, requests
ha, k1, k2, secret, duration, writers, acknowledged, report = sys.argv[1:]
duration, writers = float(duration), int(writers)
token = requests.post(f"http://127.0.0.1:{k1}/auth/token", data={"grant_type": "client_credentials", "scope": "system/*.cruds"},
                      auth=("drill", secret), timeout=10).json()["access_token"]
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/fhir+json"}
# A token issued by one node is honoured by the other (tokens and sessions live in the database).
other_node = requests.get(f"http://127.0.0.1:{k2}/fhir/Patient", params={"_count": "1"}, headers=headers, timeout=10).status_code
lock, events = threading.Lock(), []
def writer(number):
    session, sequence = requests.Session(), 0
    end = time.time() + duration
    while time.time() < end:
        sequence += 1
        body = {"resourceType": "Patient", "name": [{"family": f"Failover{number}x{sequence}"}], "gender": "female", "birthDate": "1980-01-01"}
        sent = time.time()
        try:
            answer = session.post(f"http://127.0.0.1:{ha}/fhir/Patient", data=json.dumps(body), headers=headers, timeout=30)
            status, ident = answer.status_code, (answer.json().get("id") if answer.status_code == 201 else None)
        except Exception as error:
            status, ident = type(error).__name__, None
        with lock:
            events.append((sent, time.time(), status, ident))
        if ident is None:
            time.sleep(0.2)
threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
for thread in threads: thread.start()
for thread in threads: thread.join()
events.sort()
ok = [e for e in events if e[3]]
with open(acknowledged, "w") as out:
    for e in ok: out.write(e[3] + "\n")
gaps = [(b[1] - a[1], a[1], b[1]) for a, b in zip(ok, ok[1:])]
gap = max(gaps) if gaps else (0, 0, 0)
failed = [e for e in events if not e[3]]
statuses = {}
for e in failed: statuses[str(e[2])] = statuses.get(str(e[2]), 0) + 1
json.dump({"requests": len(events), "acknowledged": len(ok), "failed": len(failed), "failures": statuses, "longest_gap": round(gap[0], 2),
           "other_node_status": other_node, "start": events[0][0] if events else 0}, open(report, "w"))
PY
load=$!
sleep "$(python3 -c "print($duration / 3)")"
kill_time=$(date +%s.%N)
patroni_pid=$(pgrep -u postgres -f "patroni $work/$old.yml" | head -1)
postmaster_pid=$(head -1 "$work/$old/data/postmaster.pid")
say "kill -9 Patroni ($patroni_pid) and PostgreSQL ($postmaster_pid) of $old"
kill -9 "$patroni_pid" "$postmaster_pid"
pkill -9 -f "$work/$old/data" 2>/dev/null || true
new=""
for _ in $(seq 1 120); do new=$(primary_node); [ -n "$new" ] && [ "$new" != "$old" ] && break; sleep 0.25; done
promoted=$(python3 -c "import time; print(f'{time.time() - $kill_time:.1f}')")
say "$new is primary $promoted s after the kill"
wait "$load"

direct="postgres://karna@127.0.0.1:${pg_port[$new]}/postgres"
psql "$direct" -Atq -c "SELECT id FROM resource WHERE resource_type = 'Patient'" | sort > "$work/stored.txt"
sort "$work/acknowledged.txt" > "$work/acknowledged.sorted"
missing=$(comm -23 "$work/acknowledged.sorted" "$work/stored.txt" | wc -l)
acknowledged=$(wc -l < "$work/acknowledged.sorted")
verify=$(KARNA_DATABASE_URL="$direct" KARNA_DATABASE_POOLER=none "$karna" audit verify 2>&1) || true
python3 - "$work/load.json" "$old" "$new" "$promoted" "$missing" "$acknowledged" "$verify" "$writers" "$duration" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))
old, new, promoted, missing, acknowledged, verify, writers, duration = sys.argv[2:]
print(f"| | |\n|---|---|")
print(f"| load | {writers} writers, {duration} s, POST /fhir/Patient through HAProxy to two Kärna nodes |")
print(f"| requests | {load['requests']}: {load['acknowledged']} acknowledged (201), {load['failed']} failed {load['failures']} |")
print(f"| primary killed | {old} (Patroni and PostgreSQL, kill -9); {new} primary {promoted} s later |")
print(f"| interruption | longest time without a successful write: {load['longest_gap']} s |")
print(f"| acknowledged writes stored after the failover | {int(acknowledged) - int(missing)} of {acknowledged} (missing: {missing}) |")
print(f"| a token from node 1 on node 2 | HTTP {load['other_node_status']} |")
print(f"| audit chain (two writers, across the failover) | {verify} |")
PY
[ "$missing" = 0 ] && echo "$verify" | grep -q "intact"
