import { existsSync } from 'node:fs';

/** The Docker-API socket the tests use: DOCKER_SOCKET, else Podman's, else Docker's. */
export function containerSocket(): string {
  if (process.env.DOCKER_SOCKET) return process.env.DOCKER_SOCKET;
  return existsSync('/run/podman/podman.sock') ? '/run/podman/podman.sock' : '/var/run/docker.sock';
}
