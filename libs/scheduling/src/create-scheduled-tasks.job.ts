import { Inject, Injectable, Logger } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings, ScheduleRepository } from '@kat/domain';
import { TaskIntake } from '@kat/queue';
import { PeriodicJob } from './periodic-job';

/** For every enabled schedule, one set-based statement creates the tasks that are due (they wait for admission). */
@Injectable()
export class CreateScheduledTasksJob implements PeriodicJob {
  readonly name = 'create-scheduled-tasks';
  private readonly logger = new Logger(CreateScheduledTasksJob.name);

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly intake: TaskIntake,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  /** A schedule that fails (a lost connection, a failed part of a sweep) is logged and retried next tick. */
  async run(): Promise<Record<string, number>> {
    let created = 0;
    let failed = 0;
    const started = Date.now();
    const ids = await this.schedules.enabledScheduleIds();
    const options = { sweepParts: this.settings.SCHEDULER_SWEEP_PARTS };
    for (const id of ids) {
      try {
        created += (await this.intake.submitScheduled(id, options)).tasks.length;
      } catch (error) {
        failed++;
        this.logger.error(`schedule ${id}: its tasks were not all created, tried again next tick: ${error}`);
      }
    }
    const insertMs = Date.now() - started;
    if (created > 0) this.logger.log(`${created} task(s) created for ${ids.length} schedule(s) in ${insertMs} ms`);
    return { schedules: ids.length, schedules_failed: failed, tasks_created: created, insert_ms: insertMs };
  }
}
