#!/usr/bin/env bash
# Builds kat-plugins:latest, the image of the built-in plugins, from this machine's files alone
# (no registry): the host's node binary and the libraries it links, plus plugins/src as /app.
# The image carries a hash of its sources; it is rebuilt only when they (or node) change.
# In production, plugins/Dockerfile builds the same layout from node:24-alpine.
set -euo pipefail
cd "$(dirname "$0")"

engine=$(command -v podman || command -v docker || true)
[ -n "$engine" ] || { echo "build-image: neither podman nor docker is installed" >&2; exit 1; }
node_bin=$(readlink -f "$(command -v node)")
hash=$( (cat src/*.js; "$node_bin" --version) | sha256sum | cut -c1-16)

if [ "$("$engine" image inspect kat-plugins:latest --format '{{ index .Config.Labels "kat.source_hash" }}' 2>/dev/null)" = "$hash" ]; then
  echo "kat-plugins:latest is up to date ($hash)"
  exit 0
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{usr/local/bin,app,tmp,etc}
cp "$node_bin" "$rootfs/usr/local/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
cp src/*.js "$rootfs/app/"
echo 'nobody:x:65534:65534:nobody:/tmp:/sbin/nologin' > "$rootfs/etc/passwd"
tar -C "$rootfs" -c . | "$engine" import \
  --change 'ENV PATH=/usr/local/bin' --change 'WORKDIR /app' --change "LABEL kat.source_hash=$hash" \
  --change 'CMD ["node"]' - kat-plugins:latest >/dev/null
echo "built kat-plugins:latest ($hash) with $engine"
