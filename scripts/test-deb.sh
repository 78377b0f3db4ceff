#!/usr/bin/env bash
# Installs the Debian package on this machine and starts it as its service would, then removes it: the check
# CI runs (as root) on a package of its debug build. Where systemd runs, the unit is started by systemctl;
# in a container without systemd the unit is checked with systemd-analyze and its ExecStart run as its user.
#
#   scripts/test-deb.sh PACKAGE.deb [PORT]
set -euo pipefail
deb="$1" port="${2:-18480}"
[ "$(id -u)" = 0 ] || { echo "test-deb: run as root (it installs a package)" >&2; exit 1; }
fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }

# An installed Kärna may be serving records: the check never touches it.
if dpkg-query -W -f='${Status}' karna 2>/dev/null | grep -q "install ok installed"; then
  fail "Kärna is installed on this machine: test-deb installs and removes a package of its own"
fi
# Removing the package keeps /var/lib/karna (records are removed only by an operator's decision), so a machine
# that ran this check before, or had Kärna once, still has that folder. It is moved aside, not deleted, and put
# back when the check ends; what the check itself wrote is removed.
kept=""
if [ -e /var/lib/karna ]; then
  kept="/var/lib/karna.kept-by-test-deb.$$"
  mv /var/lib/karna "$kept"
  echo "test-deb: /var/lib/karna (a removed package's) moved aside to $kept until the check ends"
fi
finish() {
  dpkg -r karna >/dev/null 2>&1 || true
  rm -rf /var/lib/karna
  [ -z "$kept" ] || mv "$kept" /var/lib/karna
}
trap finish EXIT
dpkg -i "$deb" >/dev/null || { apt-get install -f -y -q >/dev/null; dpkg -i "$deb" >/dev/null; }
getent passwd karna >/dev/null || fail "the package made no karna user"
[ "$(stat -c %a /etc/karna/karna.env)" = 600 ] || fail "/etc/karna/karna.env is not 0600"
[ "$(stat -c %U:%a /var/lib/karna)" = karna:750 ] || fail "/var/lib/karna is not karna's, 0750"
/usr/bin/karna --version >/dev/null || fail "karna --version"
for unit in karna.service karna-par.service karna-par.timer; do
  verify="$(systemd-analyze verify "/lib/systemd/system/$unit" 2>&1 || true)"
  if echo "$verify" | grep -iE "$unit.*(unknown|invalid|failed|bad)" ; then fail "systemd-analyze $unit: $verify"; fi
done
echo "systemd-analyze verify: the units parse (karna.service, karna-par.service, karna-par.timer)"

run_as_karna() { runuser -u karna -- env KARNA_CONFIG_FILE=/etc/karna/karna.json KARNA_PORT="$port" "$@"; }
cd /var/lib/karna
run_as_karna /usr/bin/karna migrate
log="$(mktemp)"
run_as_karna /usr/bin/karna serve > "$log" 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.5; done
ready="$(curl -s "http://127.0.0.1:$port/health/ready")" || true
# runuser does not pass the signal on: the server itself is stopped, as systemd would stop it.
pkill -TERM -u karna -f "/usr/lib/karna/karna serve" || true
wait "$server" || true
echo "$ready" | grep -q "^ready" || { cat "$log"; fail "not ready: $ready"; }
grep -q "production" "$log" || { cat "$log"; fail "the installed service did not start as a production installation"; }
grep -q '"level"' "$log" || { cat "$log"; fail "the installed service did not log JSON lines"; }
if grep -qi "demo logins" "$log"; then fail "a production start printed demo logins"; fi
[ ! -e /var/lib/karna/demo-credentials.json ] || fail "a production start wrote demo credentials"
secrets="$(mktemp -u /var/lib/karna/admin-XXXX.txt)"
run_as_karna /usr/bin/karna admin create --username forvaltare --given Eva --family Ström --hsa-id SE2321000016-A1 \
  --region-id region-test --region-name "Region Test" --secrets-out "$secrets" | grep -q "created the systemförvaltare" || fail "karna admin create"
[ "$(stat -c %a "$secrets")" = 600 ] || fail "the administrator's secrets file is not 0600"
run_as_karna /usr/bin/karna backup --out /var/lib/karna/backup-test.sqlite | grep -q "integrity ok" || fail "karna backup"
# The monthly PAR delivery as karna-par.service runs it (its ExecStart, as the karna user).
par_start="$(sed -n 's/^ExecStart=//p' /lib/systemd/system/karna-par.service | sed 's/%%/%/g')"
[ -n "$par_start" ] || fail "karna-par.service has no ExecStart"
month="$(TZ=Europe/Stockholm date +%Y-%m)"
eval "run_as_karna $par_start" | grep -q "wrote the PAR delivery of $month" || fail "karna-par.service's command"
[ "$(ls /var/lib/karna/par/$month | wc -l)" = 9 ] || fail "the PAR delivery is not nine files: $(ls /var/lib/karna/par/$month)"
echo "test-deb: $(basename "$deb") installed, migrated, started as karna (production, JSON log, ready), first administrator made, backup verified, the monthly PAR delivery written"
