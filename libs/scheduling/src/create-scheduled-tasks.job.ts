import { Injectable, Logger } from '@nestjs/common';
import { ScheduleRepository } from '@kat/domain';
import { TaskIntake } from '@kat/queue';
import { PeriodicJob } from './periodic-job';

/** For every enabled schedule, one set-based statement creates the tasks that are due, then queues them. */
@Injectable()
export class CreateScheduledTasksJob implements PeriodicJob {
  readonly name = 'create-scheduled-tasks';
  private readonly logger = new Logger(CreateScheduledTasksJob.name);

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly intake: TaskIntake,
  ) {}

  async run(): Promise<Record<string, number>> {
    let created = 0;
    let queued = 0;
    let queueMs = 0;
    const started = Date.now();
    const ids = await this.schedules.enabledScheduleIds();
    for (const id of ids) {
      const admitted = await this.intake.submitScheduled(id);
      created += admitted.tasks.length;
      queued += admitted.queued;
      queueMs += admitted.queue_ms;
    }
    const insertMs = Date.now() - started - queueMs;
    if (created > 0)
      this.logger.log(
        `${created} task(s) created for ${ids.length} schedule(s) in ${insertMs} ms, ${queued} queued in ${queueMs} ms`,
      );
    return {
      schedules: ids.length,
      tasks_created: created,
      tasks_queued: queued,
      insert_ms: insertMs,
      queue_ms: queueMs,
    };
  }
}
