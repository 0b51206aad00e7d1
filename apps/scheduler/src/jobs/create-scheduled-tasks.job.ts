import { Injectable, Logger } from '@nestjs/common';
import { ScheduleRepository } from '@kat/domain';
import { TaskDispatcher } from '@kat/queue';
import { PeriodicJob } from './periodic-job';

/** For every enabled schedule, one set-based statement creates the tasks that are due, then queues them. */
@Injectable()
export class CreateScheduledTasksJob implements PeriodicJob {
  readonly name = 'create-scheduled-tasks';
  private readonly logger = new Logger(CreateScheduledTasksJob.name);

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly dispatcher: TaskDispatcher,
  ) {}

  async run(): Promise<Record<string, number>> {
    let created = 0;
    let queued = 0;
    const ids = await this.schedules.enabledScheduleIds();
    for (const id of ids) {
      const tasks = await this.schedules.createDueTasks(id);
      created += tasks.length;
      queued += await this.dispatcher.enqueue(tasks);
    }
    if (created > 0) this.logger.log(`${created} task(s) created for ${ids.length} schedule(s), ${queued} queued`);
    return { schedules: ids.length, tasks_created: created, tasks_queued: queued };
  }
}
