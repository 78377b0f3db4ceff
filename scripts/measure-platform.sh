#!/usr/bin/env bash
# Measures the platform on this machine, both backends, in one run:
#   - import rate of the Synthea bundles (resources/s, from `karna import`)
#   - read-by-id rate (requests/s, wrk, 4 connections, 2 threads, 15 s) against
#     random Patient/Observation ids, next to the ceiling of the same server's
#     trivial /health/live handler measured the same way.
# Usage: scripts/measure-platform.sh [SYNTHEA_FOLDER]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
synthea=${1:-../shared/testdata/synthea}
duration=${KARNA_MEASURE_SECONDS:-15}
swift build -c release --product karna >/dev/null
karna=.build/release/karna
work=$(mktemp -d /tmp/karna-measure-XXXXXX)
read -r pg_url pg_folder < <(KARNA_PG_OPTIONS="-c shared_buffers=512MB -c synchronous_commit=off" scripts/start-throwaway-postgres.sh)
cleanup() { kill "${server:-0}" 2>/dev/null || true; scripts/start-throwaway-postgres.sh --stop "$pg_folder" || true; rm -rf "$work"; }
trap cleanup EXIT

ids_script() {  # wrk script that GETs random ids from a file
  cat > "$work/read.lua" <<LUA
local ids = {}
for line in io.lines("$work/ids.txt") do ids[#ids + 1] = line end
math.randomseed(42)
request = function() return wrk.format("GET", "/fhir/" .. ids[math.random(#ids)]) end
LUA
}

printf "| backend | import (resources/s) | /health ceiling (req/s) | read by id (req/s) | ratio | read latency p50 / p99 |\n|---|---|---|---|---|---|\n" > "$work/report.md"
for backend in sqlite postgresql; do
  if [ "$backend" = sqlite ]; then url="sqlite:$work/karna.sqlite"; else url="$pg_url"; fi
  import_line=$($karna import "$synthea" --database-url "$url" | tail -n 1)
  import_rate=$(echo "$import_line" | grep -oE '[0-9]+ resources/s' | grep -oE '[0-9]+')
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  $karna serve --port "$port" --database-url "$url" --log-level warning > "$work/serve-$backend.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/fhir/Patient/_history?_count=1000" | python3 -c '
import json,sys; [print("Patient/" + e["resource"]["id"]) for e in json.load(sys.stdin).get("entry",[]) if "resource" in e]' > "$work/ids.txt"
  curl -sf "http://127.0.0.1:$port/fhir/Observation/_history?_count=1000" | python3 -c '
import json,sys; [print("Observation/" + e["resource"]["id"]) for e in json.load(sys.stdin).get("entry",[]) if "resource" in e]' >> "$work/ids.txt"
  ids_script
  ceiling=$(wrk -t2 -c4 -d"${duration}s" "http://127.0.0.1:$port/health/live" | awk '/Requests\/sec/ {print int($2)}')
  wrk -t2 -c4 -d"${duration}s" --latency -s "$work/read.lua" "http://127.0.0.1:$port" > "$work/read-$backend.txt"
  reads=$(awk '/Requests\/sec/ {print int($2)}' "$work/read-$backend.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/read-$backend.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/read-$backend.txt")
  ratio=$(python3 -c "print(f'{$reads/$ceiling:.2f}')")
  printf "| %s | %s | %s | %s | %s | %s / %s |\n" "$backend" "$import_rate" "$ceiling" "$reads" "$ratio" "$p50" "$p99" >> "$work/report.md"
  kill "$server"; wait "$server" 2>/dev/null || true
done
echo "Synthea: $(ls "$synthea" | wc -l) bundles; $(nproc) cores; server, database and load generator share them."
cat "$work/report.md"
