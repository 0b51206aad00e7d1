#!/usr/bin/env bash
# What the tests need besides Node.js and the npm packages (npm runs this before `npm test` and
# `npm run test:faults`): PostgreSQL and Redis answering on localhost, busybox-static (the plugin
# test image is made from it), nmap (the nmap plugin's image), Chromium (the browser tests), docker-compose (it validates
# docker-compose.yml) and a container engine. Brought here when it can be (as root, with apt-get);
# otherwise one sentence says what to install, and the tests do not start.
set -euo pipefail
cd "$(dirname "$0")/.."

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers 5432 || { echo "The tests need PostgreSQL on 127.0.0.1:5432 (trust auth for postgres): start it, then run them again." >&2; exit 1; }
answers 6379 || { echo "The tests need Redis on 127.0.0.1:6379: start it, then run them again." >&2; exit 1; }

missing=()
bash scripts/build-plugin-images.sh --check-busybox 2>/dev/null || missing+=(busybox-static)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
[ -x /usr/bin/nmap ] || missing+=(nmap) # the kat-nmap plugin image is made from it
command -v docker-compose >/dev/null || missing+=(docker-compose)
bash scripts/debian-packages.sh "The tests" "${missing[@]}"

bash scripts/container-engine.sh >/dev/null
