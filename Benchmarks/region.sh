#!/usr/bin/env bash
# A region's scale on PostgreSQL: seeds a throwaway PostgreSQL server with N patients through `karna seed`
# (its progress lines and rate as they come, its peak memory from /usr/bin/time), then measures the search
# mix, the page set, read by id and the CRUD mix on that database in one run, against the empty handler
# measured in the same run (Benchmarks/bench.py --database-url).
#
#   Benchmarks/region.sh [PATIENTS (default 1000000)] [SECONDS per measurement (default 10)]
#
# Needs a release build (swift build -c release --product karna), wrk and PostgreSQL's binaries.
# Set KARNA_REGION_KEEP=1 to leave the server and database running afterwards (the script prints them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
patients=${1:-1000000}
seconds=${2:-10}
karna=${KARNA_BENCH_BIN:-$root/.build/release/karna}
[ -x "$karna" ] || { echo "no release build at $karna: swift build -c release --product karna" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
work=$(mktemp -d /tmp/karna-region-XXXXXX)
# The benchmark's own PostgreSQL settings (Benchmarks/bench.py, Databases), with the buffers a database of
# this size is given on a 24 GiB machine.
read -r pg_url pg_folder < <(KARNA_PG_OPTIONS="-c shared_buffers=4GB -c synchronous_commit=off -c max_wal_size=4GB" \
  "$root/scripts/start-throwaway-postgres.sh")
stop() { [ -n "${KARNA_REGION_KEEP:-}" ] || "$root/scripts/start-throwaway-postgres.sh" --stop "$pg_folder"; rm -rf "$work"; }
trap stop EXIT
psql "$pg_url" -qc "CREATE DATABASE region"
url=${pg_url%/*}/region
echo "== $(date -u +%FT%TZ) seeding $patients patients into $url"
export KARNA_DEMO_CREDENTIALS=$work/demo-credentials.json
/usr/bin/time -f "seed: %e s wall, %M KB peak memory" "$karna" seed --patients "$patients" --database-url "$url" 2>&1 | tee "$work/seed.log"
heaviest=$(sed -n 's/.*heaviest patient: \([^ ]*\) .*/\1/p' "$work/seed.log")
echo "== database size: $(psql "$url" -Atc "SELECT pg_size_pretty(pg_database_size('region'))")"
echo "== $(date -u +%FT%TZ) measuring (heaviest patient $heaviest)"
python3 "$root/Benchmarks/bench.py" --database-url "$url" --credentials "$KARNA_DEMO_CREDENTIALS" --heaviest "$heaviest" \
  --seconds "$seconds" --out -
echo "== $(date -u +%FT%TZ) done"
[ -z "${KARNA_REGION_KEEP:-}" ] || { trap - EXIT; echo "kept: $url ($pg_folder); credentials $KARNA_DEMO_CREDENTIALS"; }
