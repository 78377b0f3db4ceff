#!/usr/bin/env bash
# Builds the Debian package of Kärna: karna_VERSION_ARCH.deb with the binary, its resource bundles, a systemd
# unit with hardening, the default settings (/etc/karna/karna.json, production on), a secrets file for systemd
# and the operator guide.
#
#   scripts/build-deb.sh [--binary PATH] [--out DIR] [--quick]
#
# Without --binary it builds a release binary with the Swift standard library and Foundation linked in
# (`swift build -c release --static-swift-stdlib`), which needs only Debian's own libraries. With --binary it
# packages that binary as it is, and a binary linked against the toolchain's Swift runtime gets those
# libraries copied into /usr/lib/karna/swift (CI packages its debug build this way, to skip a release build).
# --quick compresses with gzip -1 instead of xz (a debug binary took dpkg-deb almost three minutes with xz).
set -euo pipefail
cd "$(dirname "$0")/.."

binary="" out="dist" compression=(-Zxz)
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --quick) compression=(-Zgzip -z1); shift ;;
    *) echo "usage: scripts/build-deb.sh [--binary PATH] [--out DIR] [--quick]" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  swift build -c release --static-swift-stdlib --product karna
  binary=".build/release/karna"
fi
[ -x "$binary" ] || { echo "build-deb: $binary is not an executable" >&2; exit 1; }
bin_dir="$(cd "$(dirname "$binary")" && pwd)"

version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/FHIRAPI/Interactions/Capabilities.swift | head -1)"
[ -n "$version" ] || { echo "build-deb: no version found in KarnaVersion" >&2; exit 1; }
arch="$(dpkg --print-architecture)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/karna_${version}_${arch}"

install -d "$root/usr/lib/karna" "$root/usr/bin" "$root/etc/karna" "$root/lib/systemd/system" "$root/usr/share/doc/karna" "$root/DEBIAN"
install -m 0755 "$binary" "$root/usr/lib/karna/karna"
# SwiftPM finds a target's resources in NAME.resources beside the executable (the tests' bundles stay out).
for bundle in "$bin_dir"/*.resources; do
  case "$(basename "$bundle")" in *Tests.resources) continue ;; esac
  cp -r "$bundle" "$root/usr/lib/karna/"
done
# A binary linked against the toolchain's Swift runtime: those libraries go with it.
swift_libs="$(ldd "$binary" | awk '/=> .*\/usr\/lib\/swift\/linux\// {print $3}')"
if [ -n "$swift_libs" ]; then
  install -d "$root/usr/lib/karna/swift"
  for lib in $swift_libs; do install -m 0644 "$lib" "$root/usr/lib/karna/swift/"; done
fi
cat > "$root/usr/bin/karna" <<'WRAPPER'
#!/bin/sh
# Kärna's command (the binary and its resources live in /usr/lib/karna).
if [ -d /usr/lib/karna/swift ]; then
  LD_LIBRARY_PATH="/usr/lib/karna/swift${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
fi
exec /usr/lib/karna/karna "$@"
WRAPPER
chmod 0755 "$root/usr/bin/karna"
install -m 0644 packaging/karna.service "$root/lib/systemd/system/karna.service"
install -m 0644 packaging/karna-par.service "$root/lib/systemd/system/karna-par.service"
install -m 0644 packaging/karna-par.timer "$root/lib/systemd/system/karna-par.timer"
install -m 0644 packaging/karna.json "$root/etc/karna/karna.json"
# The region's PAR layout starts as Kärna's (länskod 99, the demo region's hospitals): the region fills in its own.
install -m 0644 Sources/BulkExport/PARData/par.json "$root/etc/karna/par.json"
install -m 0600 packaging/karna.env "$root/etc/karna/karna.env"
install -m 0644 docs/operations.md "$root/usr/share/doc/karna/operations.md"
install -m 0644 LICENSE "$root/usr/share/doc/karna/copyright"

size="$(du -sk "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: karna
Version: $version
Architecture: $arch
Maintainer: Kärna contributors <karna@invalid.example>
Installed-Size: $size
Depends: adduser, libsqlite3-0, libbz2-1.0, libcurl4, libxml2, libstdc++6, zlib1g
Section: misc
Priority: optional
Homepage: https://karna.invalid.example/
Description: Kärna, an open core healthcare information system for Swedish regions
 The patient record as FHIR R4 on SQLite or PostgreSQL behind one access gateway that enforces
 Patientdatalagen and audits every access; the clinicians' web app, SMART on FHIR, HL7 v2 over MLLP.
CONTROL
printf '/etc/karna/karna.json\n/etc/karna/karna.env\n/etc/karna/par.json\n' > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  install -d -m 0750 /var/lib/karna
  if ! getent passwd karna >/dev/null; then
    adduser --system --group --home /var/lib/karna --no-create-home --gecos "Karna service" karna >/dev/null
  fi
  chown karna:karna /var/lib/karna
  chown root:karna /etc/karna/karna.json && chmod 0640 /etc/karna/karna.json
  chown root:root /etc/karna/karna.env && chmod 0600 /etc/karna/karna.env
  if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
fi
exit 0
POSTINST
cat > "$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
# The records stay: /var/lib/karna holds patient data and is removed only by an operator's decision.
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

mkdir -p "$out"
dpkg-deb --build --root-owner-group "${compression[@]}" "$root" "$out/karna_${version}_${arch}.deb" >/dev/null
echo "$out/karna_${version}_${arch}.deb"
