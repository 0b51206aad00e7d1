import { Injectable, Logger } from '@nestjs/common';
import { TaskRepository } from '@kat/domain';
import { TaskDispatcher } from '@kat/queue';
import { PeriodicJob } from './periodic-job';

/** One business_rule task ("all" rules) per organization that has none active, queued. */
@Injectable()
export class RunBusinessRulesJob implements PeriodicJob {
  readonly name = 'run-business-rules';
  private readonly logger = new Logger(RunBusinessRulesJob.name);

  constructor(
    private readonly tasks: TaskRepository,
    private readonly dispatcher: TaskDispatcher,
  ) {}

  async run(): Promise<Record<string, number>> {
    const created = await this.tasks.createRuleTasksForEveryOrganization();
    const queued = await this.dispatcher.enqueue(created);
    if (created.length > 0) this.logger.log(`${created.length} business_rule task(s) created, ${queued} queued`);
    return { tasks_created: created.length, tasks_queued: queued };
  }
}
