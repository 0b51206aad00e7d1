import { Inject, Injectable, Logger } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings, TaskCursor, TaskRepository, TaskStatus } from '@kat/domain';
import { TaskDispatcher } from '@kat/queue';
import { PeriodicJob } from './periodic-job';

const PAGE_SIZE = 1000;

/**
 * Brings the queue back in line with the task rows: RUNNING tasks whose worker stopped
 * heartbeating return to PENDING (or FAILED after the last attempt), and PENDING tasks missing
 * from their queue (Redis was down, a worker shut down, Redis lost data) are queued again.
 */
@Injectable()
export class ReconcileTasksJob implements PeriodicJob {
  readonly name = 'reconcile-tasks';
  private readonly logger = new Logger(ReconcileTasksJob.name);

  constructor(
    private readonly tasks: TaskRepository,
    private readonly dispatcher: TaskDispatcher,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  async run(): Promise<Record<string, number>> {
    const recovered = await this.tasks.recoverStale(this.settings.STALE_AFTER_SECONDS, this.settings.MAX_ATTEMPTS);
    const failed = recovered.filter((t) => t.status === TaskStatus.FAILED).length;
    const handedBack = recovered.filter((t) => t.status === TaskStatus.PENDING);
    let requeued = await this.dispatcher.enqueue(handedBack);
    if (recovered.length > 0) this.logger.warn(`${handedBack.length} stale task(s) back to PENDING, ${failed} FAILED after their last attempt`);
    requeued += await this.requeueMissing();
    return { handed_back: handedBack.length, failed, requeued };
  }

  /** Pages through old PENDING tasks and queues those whose job is not in Redis. */
  private async requeueMissing(): Promise<number> {
    let requeued = 0;
    let after: TaskCursor | null = null;
    for (;;) {
      const page = await this.tasks.pendingPage(this.settings.REQUEUE_AFTER_SECONDS, after, PAGE_SIZE);
      if (page.length === 0) break;
      for (const type of new Set(page.map((t) => t.type))) {
        const missing = await this.dispatcher.missingFromQueue(type, page.filter((t) => t.type === type));
        if (missing.length > 0) requeued += await this.dispatcher.enqueue(missing);
      }
      if (page.length < PAGE_SIZE) break;
      after = page[page.length - 1];
    }
    if (requeued > 0) this.logger.log(`Queued ${requeued} PENDING task(s) that were missing from their queue`);
    return requeued;
  }
}
