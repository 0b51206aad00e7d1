import { Inject, Injectable, Logger } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings, TaskRepository, TaskStatus } from '@kat/domain';
import { KatMetrics } from '@kat/runtime';
import { PeriodicJob } from './periodic-job';

/** Tasks deleted per statement: short transactions, so nothing waits long on the locks they take. */
const BATCH = 1000;
/** A run stops starting batches after this long; the next run goes on where it stopped. */
const BUDGET_MS = 60_000;

/**
 * Retention: deletes ended tasks older than RETAIN_<STATUS>_DAYS (FAILED kept longest by default),
 * with their logs and output files, in batches. It runs beside the other jobs, so a long backlog
 * never holds up a tick.
 */
@Injectable()
export class PruneTasksJob implements PeriodicJob {
  readonly name = 'prune-tasks';
  readonly beside = true;
  private readonly logger = new Logger(PruneTasksJob.name);

  constructor(
    private readonly tasks: TaskRepository,
    private readonly metrics: KatMetrics,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  async run(): Promise<Record<string, number>> {
    const started = Date.now();
    const days: Array<[TaskStatus, number]> = [
      [TaskStatus.COMPLETED, this.settings.RETAIN_COMPLETED_DAYS],
      [TaskStatus.FAILED, this.settings.RETAIN_FAILED_DAYS],
      [TaskStatus.CANCELLED, this.settings.RETAIN_CANCELLED_DAYS],
    ];
    const pruned: Record<string, number> = {};
    for (const [status, keep] of days) {
      pruned[status.toLowerCase()] = 0;
      if (keep === 0) continue;
      let deleted: number;
      do {
        deleted = await this.tasks.pruneEnded(status, keep, BATCH);
        pruned[status.toLowerCase()] += deleted;
        this.metrics.tasksPruned.inc({ status }, deleted);
      } while (deleted === BATCH && Date.now() - started < BUDGET_MS);
    }
    const total = Object.values(pruned).reduce((a, b) => a + b, 0);
    if (total > 0) this.logger.log(`Deleted ${total} ended task(s) past their retention: ${JSON.stringify(pruned)}`);
    return pruned;
  }
}
