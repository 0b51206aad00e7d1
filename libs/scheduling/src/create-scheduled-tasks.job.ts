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

  async run(): Promise<Record<string, number>> {
    let created = 0;
    const started = Date.now();
    const ids = await this.schedules.enabledScheduleIds();
    const options = { sweepParts: this.settings.SCHEDULER_SWEEP_PARTS };
    for (const id of ids) created += (await this.intake.submitScheduled(id, options)).tasks.length;
    const insertMs = Date.now() - started;
    if (created > 0) this.logger.log(`${created} task(s) created for ${ids.length} schedule(s) in ${insertMs} ms`);
    return { schedules: ids.length, tasks_created: created, insert_ms: insertMs };
  }
}
