import { Inject, Injectable, Logger } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings } from '@kat/domain';
import { TaskIntake } from '@kat/queue';
import { PeriodicJob } from './periodic-job';

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
    private readonly intake: TaskIntake,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  async run(): Promise<Record<string, number>> {
    const stale = await this.intake.recoverStale(this.settings.STALE_AFTER_SECONDS, this.settings.MAX_ATTEMPTS);
    if (stale.handed_back + stale.failed > 0) {
      this.logger.warn(
        `${stale.handed_back} stale task(s) back to PENDING, ${stale.failed} FAILED after their last attempt`,
      );
    }
    const missing = await this.intake.requeueMissing(this.settings.REQUEUE_AFTER_SECONDS);
    if (missing > 0) this.logger.log(`Queued ${missing} PENDING task(s) that were missing from their queue`);
    return { handed_back: stale.handed_back, failed: stale.failed, requeued: stale.queued + missing };
  }
}
