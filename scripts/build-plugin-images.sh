#!/usr/bin/env bash
# Builds the small plugin images the tests and the built-in `hello` plugin use, from files on this
# machine only (no registry): kat-busybox:latest is Debian's static busybox as a root filesystem.
set -euo pipefail

# --check-busybox: only says (exit status) whether the static busybox it needs is there.
busybox=/bin/busybox
# (Not `ldd | grep -q`: grep quits at the first match, and under pipefail ldd's SIGPIPE fails the test.)
if ! [ -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1 || [[ "$(ldd "$busybox" 2>&1)" != *"not a dynamic"* ]]; then
  echo "build-plugin-images: $busybox is missing or not static (apt-get install busybox-static)" >&2
  exit 1
fi
[ "${1:-}" != --check-busybox ] || exit 0
engine=$(command -v podman || command -v docker || true)
[ -n "$engine" ] || { echo "build-plugin-images: neither podman nor docker is installed" >&2; exit 1; }

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
