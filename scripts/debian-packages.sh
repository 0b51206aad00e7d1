#!/usr/bin/env bash
# debian-packages.sh "<who needs them>" <package>…: installs the Debian packages with apt-get when
# run as root on a machine that has it; otherwise says in one sentence what to install and fails.
set -euo pipefail
who=$1
shift
[ $# -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "$who need $*: install them (Debian: apt-get install $*), then run this again." >&2
  exit 1
fi
echo "Installing $* from Debian's packages…" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
