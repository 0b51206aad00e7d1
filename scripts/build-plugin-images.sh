#!/usr/bin/env bash
# Builds the small plugin images the tests and the built-in `hello` plugin use, from files on this
# machine only (no registry): kat-busybox:latest is Debian's static busybox as a root filesystem.
set -euo pipefail

engine=$(command -v podman || command -v docker || true)
[ -n "$engine" ] || { echo "build-plugin-images: neither podman nor docker is installed" >&2; exit 1; }
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || { echo "build-plugin-images: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
file "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' \
  || { echo "build-plugin-images: $busybox is not static (apt-get install busybox-static)" >&2; exit 1; }

if "$engine" image inspect kat-busybox:latest >/dev/null 2>&1 && [ "${REBUILD:-0}" != 1 ]; then
  echo "kat-busybox:latest exists (REBUILD=1 to rebuild)"
  exit 0
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,tmp,etc}
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list | grep -vx busybox); do ln -s busybox "$rootfs/bin/$applet"; done
echo 'nobody:x:65534:65534:nobody:/tmp:/bin/sh' > "$rootfs/etc/passwd"
tar -C "$rootfs" -c . | "$engine" import --change "ENV PATH=/bin" --change "CMD [\"/bin/sh\"]" - kat-busybox:latest >/dev/null
echo "built kat-busybox:latest with $engine"
