#!/usr/bin/env bash
# Makes sure a Docker-API container engine answers, and prints its socket path on stdout.
#   1. $DOCKER_SOCKET, if set and answering;
#   2. Docker's /var/run/docker.sock, if answering;
#   3. Podman's Docker-compatible service on /run/podman/podman.sock, started here if needed.
# When no engine is there, Podman is installed from Debian's packages if this runs as root with
# apt-get; otherwise one sentence says what to install.
# Podman settings are those that work in this kind of sandbox: see shared/docs/CONTAINERS.md.
set -euo pipefail

PODMAN_SOCKET=/run/podman/podman.sock
answers() { [ -S "$1" ] && curl -sf --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

for socket in "${DOCKER_SOCKET:-}" /var/run/docker.sock "$PODMAN_SOCKET"; do
  if [ -n "$socket" ] && answers "$socket"; then echo "$socket"; exit 0; fi
done

if ! command -v podman >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "No container engine answers: install Docker, or Podman (apt-get install podman runc), or set DOCKER_SOCKET." >&2
    exit 1
  fi
  echo "Installing Podman from Debian's packages…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc busybox-static >&2
fi

if [ ! -f /etc/containers/containers.conf ] && [ "$(id -u)" = 0 ]; then
  mkdir -p /etc/containers
  # No raising of RLIMITs in a sandbox, cgroups v1 (runc, not crun), no systemd (cgroupfs, file events).
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi
mkdir -p "$(dirname "$PODMAN_SOCKET")"
echo "Starting Podman's Docker-compatible API on $PODMAN_SOCKET…" >&2
# From its socket's folder: conmon drops an empty `oom` file into its working directory when a
# plugin is killed for memory, which would otherwise land in whatever checkout started the service.
# Every stream of the background subshell is redirected, not only podman's: a caller reading this
# script's stdout through $(…) would otherwise wait for the service to end (CI hung on exactly that).
(cd "$(dirname "$PODMAN_SOCKET")" && exec setsid podman system service --time=0 "unix://$PODMAN_SOCKET") \
  >/tmp/podman-service.log 2>&1 </dev/null &
for _ in $(seq 1 50); do
  if answers "$PODMAN_SOCKET"; then echo "$PODMAN_SOCKET"; exit 0; fi
  sleep 0.2
done
echo "Podman's service did not answer on $PODMAN_SOCKET (see /tmp/podman-service.log)" >&2
exit 1
