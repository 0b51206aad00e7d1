#!/usr/bin/env bash
# What the tests need besides Node.js and the npm packages (npm runs this before `npm test` and
# `npm run test:faults`): PostgreSQL and Redis answering on localhost, busybox-static (the plugin
# test image is made from it), Chromium (the browser tests), docker-compose (it validates
# docker-compose.yml) and a container engine. Brought here when it can be (as root, with apt-get);
# otherwise one sentence says what to install, and the tests do not start.
set -euo pipefail
cd "$(dirname "$0")/.."

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers 5432 || { echo "The tests need PostgreSQL on 127.0.0.1:5432 (trust auth for postgres): start it, then run them again." >&2; exit 1; }
answers 6379 || { echo "The tests need Redis on 127.0.0.1:6379: start it, then run them again." >&2; exit 1; }

missing=()
# (Not `ldd | grep -q`: grep quits at the first match, and under pipefail ldd's SIGPIPE fails the test.)
static_busybox() { command -v busybox >/dev/null && [[ "$(ldd "$(command -v busybox)" 2>&1)" == *"not a dynamic"* ]]; }
static_busybox || missing+=(busybox-static)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  if ! can_install; then
    echo "The tests need ${missing[*]}: install them (Debian: apt-get install ${missing[*]}), then run them again." >&2
    exit 1
  fi
  echo "Installing ${missing[*]} from Debian's packages…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

bash scripts/container-engine.sh >/dev/null
