import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { ApiClient } from './apps';
import { containerSocket } from './container-engine';

export const BUSYBOX_IMAGE = 'kat-busybox:latest';

/** Builds kat-busybox, kat-plugins and kat-nmap if the engine lacks them or they are stale (no registry needed). */
export function ensurePluginImages(): void {
  for (const script of ['scripts/build-plugin-images.sh', 'plugins/build-image.sh', 'plugins/nmap/build-image.sh']) {
    execFileSync('bash', [join(__dirname, '../..', script)], {
      stdio: 'pipe',
      env: { ...process.env, CONTAINER_HOST: `unix://${containerSocket()}` },
    });
  }
}

/** Registers a busybox plugin whose container runs `script` with sh; `{input}` etc. are substituted. */
export async function registerShellPlugin(
  admin: ApiClient,
  pluginId: string,
  script: string,
  extra: object = {},
): Promise<void> {
  const response = await admin.post('/plugins/', {
    plugin_id: pluginId,
    name: pluginId,
    image: BUSYBOX_IMAGE,
    command: ['sh', '-c', script],
    consumes: ['hostname'],
    timeout_seconds: 30,
    memory_mb: 64,
    ...extra,
  });
  if (response.status !== 201)
    throw new Error(`registering ${pluginId}: ${response.status} ${JSON.stringify(response.body)}`);
}

/** Containers of a task still known to the engine (running or not). */
export async function containersOfTask(taskId: string): Promise<Docker.ContainerInfo[]> {
  const docker = new Docker({ socketPath: containerSocket() });
  return docker.listContainers({ all: true, filters: { label: [`kat.task_id=${taskId}`] } });
}
