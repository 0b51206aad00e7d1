import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { TASK_QUEUES, TaskJob } from '@kat/queue';
import type { Queue } from 'bull';
import { RuleReportTaskExecutor } from './rule-report-task.executor';

const CONCURRENCY = 2;

/** Takes business_rule and report jobs off their queues and hands each to the executor. */
@Injectable()
export class RuleReportTaskConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(RuleReportTaskConsumer.name);

  constructor(
    @InjectQueue(TASK_QUEUES.business_rule) private readonly rules: Queue<TaskJob>,
    @InjectQueue(TASK_QUEUES.report) private readonly reports: Queue<TaskJob>,
    private readonly executor: RuleReportTaskExecutor,
  ) {}

  onApplicationBootstrap(): void {
    for (const queue of [this.rules, this.reports]) {
      void queue.process(CONCURRENCY, async (job) => (await this.executor.execute(job.data.task_id)).outcome);
      this.logger.log(`Consuming the ${queue.name} queue, ${CONCURRENCY} at a time`);
    }
  }
}
