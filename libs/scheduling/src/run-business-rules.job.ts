import { Injectable, Logger } from '@nestjs/common';
import { TaskIntake } from '@kat/queue';
import { PeriodicJob } from './periodic-job';

/** One business_rule task ("all" rules) per organization that has none active, queued. */
@Injectable()
export class RunBusinessRulesJob implements PeriodicJob {
  readonly name = 'run-business-rules';
  private readonly logger = new Logger(RunBusinessRulesJob.name);

  constructor(private readonly intake: TaskIntake) {}

  async run(): Promise<Record<string, number>> {
    const { tasks, queued } = await this.intake.submitRuleTasksForEveryOrganization();
    if (tasks.length > 0) this.logger.log(`${tasks.length} business_rule task(s) created, ${queued} queued`);
    return { tasks_created: tasks.length, tasks_queued: queued };
  }
}
