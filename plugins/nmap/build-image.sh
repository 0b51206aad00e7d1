#!/usr/bin/env bash
# Builds kat-nmap:latest, the nmap plugin image, from this machine's files alone (no registry):
# the host's /usr/bin/nmap, the libraries it links, and its data in /usr/share/nmap.
# The image carries a hash of nmap's version and this script; it is rebuilt only when they change.
# On machines that can pull, plugins/nmap/Dockerfile builds the same from debian:bookworm-slim.
set -euo pipefail
cd "$(dirname "$0")"

engine=$(command -v podman || command -v docker || true)
[ -n "$engine" ] || { echo "build-image: neither podman nor docker is installed" >&2; exit 1; }
nmap_bin=/usr/bin/nmap
if [ ! -x "$nmap_bin" ] || [ ! -d /usr/share/nmap ]; then echo "build-image: nmap is not installed (apt-get install nmap)" >&2; exit 1; fi
hash=$( ("$nmap_bin" --version; cat build-image.sh) | sha256sum | cut -c1-16)

if [ "$("$engine" image inspect kat-nmap:latest --format '{{ index .Config.Labels "kat.source_hash" }}' 2>/dev/null)" = "$hash" ]; then
  echo "kat-nmap:latest is up to date ($hash)"
  exit 0
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{usr/bin,usr/share,tmp,etc}
cp "$nmap_bin" "$rootfs/usr/bin/nmap"
for lib in $(ldd "$nmap_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
cp -rL /usr/share/nmap "$rootfs/usr/share/nmap"
# OpenSSL's legacy provider (nmap's SSL probes load it; without it every -sV prints an NSOCK ERROR).
for dir in /usr/lib/*/ossl-modules; do
  if [ -d "$dir" ]; then mkdir -p "$rootfs$dir" && cp -L "$dir"/*.so "$rootfs$dir/"; fi
done
for f in /etc/services /etc/protocols; do
  if [ -f "$f" ]; then cp -L "$f" "$rootfs$f"; fi
done
echo 'nobody:x:65534:65534:nobody:/tmp:/sbin/nologin' > "$rootfs/etc/passwd"
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" -c . | "$engine" import \
  --change 'ENV PATH=/usr/bin' --change "LABEL kat.source_hash=$hash" \
  --change 'CMD ["nmap"]' - kat-nmap:latest >/dev/null
echo "built kat-nmap:latest ($hash) with $engine"
