import { Injectable, Logger } from '@nestjs/common';
import { PeriodicJob } from './periodic-job';

/** Evaluates the business rules; the rules engine arrives with its own issue, until then it only logs. */
@Injectable()
export class RunBusinessRulesJob implements PeriodicJob {
  readonly name = 'run-business-rules';
  private readonly logger = new Logger(RunBusinessRulesJob.name);

  async run(): Promise<Record<string, number>> {
    this.logger.log('No business rules are registered yet: nothing to evaluate');
    return { tasks_created: 0 };
  }
}
