import { InjectQueue } from '@nestjs/bull';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings } from '@kat/domain';
import { TASK_QUEUES, TaskDispatcher, TaskJob } from '@kat/queue';
import type { Queue } from 'bull';
import { PluginTaskExecutor } from './plugin-task.executor';

/** Takes plugin jobs off the queue and hands each to the executor; drains on SIGTERM. */
@Injectable()
export class PluginTaskConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PluginTaskConsumer.name);

  constructor(
    @InjectQueue(TASK_QUEUES.plugin) private readonly queue: Queue<TaskJob>,
    private readonly executor: PluginTaskExecutor,
    private readonly dispatcher: TaskDispatcher,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  onApplicationBootstrap(): void {
    // queue.process rather than @Process: the concurrency is a setting, not a constant.
    void this.queue.process(this.settings.WORKER_CONCURRENCY, async (job) => {
      const result = await this.executor.execute(job.data.task_id);
      // Queued again at once under a new job id, so another worker need not wait for reconcile-tasks.
      if (result.outcome === 'handed_back') await this.dispatcher.enqueue([result.task]);
      return result.outcome;
    });
    this.logger.log(`Consuming the ${this.queue.name} queue, ${this.settings.WORKER_CONCURRENCY} at a time`);
  }

  /** Stop taking jobs, let running plugins finish within the grace period, then hand the rest back. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.queue.pause(true, true).catch(() => undefined);
    const deadline = Date.now() + this.settings.SHUTDOWN_GRACE_SECONDS * 1000;
    while (this.executor.runningCount > 0 && Date.now() < deadline) await sleep(200);
    if (this.executor.runningCount > 0) {
      this.logger.warn(`Handing ${this.executor.runningCount} running task(s) back to the queue`);
      this.executor.abortAll();
      while (this.executor.runningCount > 0) await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
