import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings, TaskRepository, TaskStatus } from '@kat/domain';
import Docker from 'dockerode';
import { dockerClient } from './container-plugin-runner';
import { CONTAINER_LABELS } from './plugin-runner';

/**
 * Removes plugin containers whose run no longer owns its task. A worker killed with SIGKILL
 * leaves its containers running; once its task is handed back (or ended) nobody needs them.
 */
@Injectable()
export class OrphanContainerReaper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrphanContainerReaper.name);
  private readonly docker: Docker;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly tasks: TaskRepository,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {
    this.docker = dockerClient(settings);
  }

  onApplicationBootstrap(): void {
    // Containers become orphans when their task goes stale, so look as often as tasks can; 0: never.
    const seconds = this.settings.REAP_INTERVAL_SECONDS ?? this.settings.STALE_AFTER_SECONDS;
    if (this.settings.PLUGIN_RUNNER !== 'container' || seconds === 0) return;
    void this.reap();
    this.timer = setInterval(() => void this.reap(), seconds * 1000);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Removes this deployment's containers whose task is not RUNNING under the container's attempt. */
  async reap(): Promise<number> {
    try {
      const containers = await this.docker.listContainers({
        all: true,
        filters: { label: [`${CONTAINER_LABELS.deployment}=${this.settings.QUEUE_PREFIX}`] },
      });
      if (containers.length === 0) return 0;
      const states = await this.tasks.runStates(containers.map((c) => c.Labels[CONTAINER_LABELS.taskId]));
      const owned = new Set(states.filter((s) => s.status === TaskStatus.RUNNING).map((s) => `${s.id}/${s.attempts}`));
      const orphans = containers.filter(
        (c) => !owned.has(`${c.Labels[CONTAINER_LABELS.taskId]}/${c.Labels[CONTAINER_LABELS.attempt]}`),
      );
      let removed = 0;
      for (const orphan of orphans) {
        const name = `${orphan.Id.slice(0, 12)} of task ${orphan.Labels[CONTAINER_LABELS.taskId]}`;
        try {
          await this.docker.getContainer(orphan.Id).remove({ force: true, v: true });
          removed++;
          this.logger.warn(`Removed orphaned container ${name}`);
        } catch (error) {
          // Gone already is no orphan: its run removed it, then ended its task, while we looked.
          if ((error as { statusCode?: number }).statusCode !== 404)
            this.logger.warn(`Could not remove orphaned container ${name}: ${(error as Error).message}`);
        }
      }
      return removed;
    } catch (error) {
      this.logger.warn(`Could not look for orphaned containers: ${(error as Error).message}`);
      return 0;
    }
  }
}
