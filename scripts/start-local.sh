#!/usr/bin/env bash
# One command to run everything locally: install, build, migrate, seed, build the plugin image and
# start the api, scheduler and worker against PostgreSQL and Redis on localhost (override with
# DATABASE_URL, REDIS_URL, DOCKER_SOCKET or DOCKER_HOST). Ctrl-C or SIGTERM stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kat}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export PORT=${PORT:-3000}
export PLUGIN_API_URL=${PLUGIN_API_URL:-http://127.0.0.1:$PORT/api/v1}
export PLUGIN_NETWORK=${PLUGIN_NETWORK:-host}
export LOG_FORMAT=${LOG_FORMAT:-pretty}
# The key of organizations' plugin settings: made once, kept outside the database (and out of git).
if [ -z "${SECRETS_KEY:-}" ]; then
  if [ ! -s .kat-local/secrets.key ]; then
    mkdir -p .kat-local && chmod 700 .kat-local
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > .kat-local/secrets.key)
  fi
  SECRETS_KEY=$(cat .kat-local/secrets.key)
fi
export SECRETS_KEY

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build >/dev/null
if [ -z "${DOCKER_HOST:-}" ]; then
  DOCKER_SOCKET=$(bash scripts/container-engine.sh) || exit 1
  export DOCKER_SOCKET
fi
npm run -s kat -- check || { echo "Start the service marked MISSING above, then run this again." >&2; exit 1; }
npm run -s kat -- migrate
npm run -s kat -- seed
export CONTAINER_HOST=unix://${DOCKER_SOCKET:-/var/run/docker.sock}
# The hello plugin's image is Debian's static busybox.
bash scripts/build-plugin-images.sh --check-busybox 2>/dev/null || bash scripts/debian-packages.sh "Plugin images" busybox-static
bash scripts/build-plugin-images.sh
bash plugins/build-image.sh
# The nmap plugin's image is the host's nmap: without it, every plugin but nmap still works.
bash plugins/nmap/build-image.sh || echo "(no kat-nmap image: apt-get install nmap, then run this again, for the nmap plugin)" >&2

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
for app in api scheduler worker; do
  # node itself in the background (its output prefixed through a process substitution), so that
  # $! is node's pid: with a pipeline it would be sed's, and SIGTERM would leave the apps running.
  node "dist/apps/$app/main.js" > >(sed -u "s/^/[$app] /") 2>&1 &
  pids+=($!)
done

token=$(npm run -s kat -- create-token --org demo --name "start-local" 2>/dev/null)
cat <<MSG

  API        http://localhost:$PORT/api/v1   (Swagger UI: http://localhost:$PORT/api/docs)
  Token      $token   (organization demo)
  Try it     curl -X POST http://localhost:$PORT/api/v1/tasks/ -H "Authorization: Bearer $token" \\
               -H 'Content-Type: application/json' \\
               -d '{"type": "plugin", "data": {"plugin_id": "hello", "input_data": "internet|example.com"}}'

MSG
wait
