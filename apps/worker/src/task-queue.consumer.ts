import { InjectQueue } from '@nestjs/bull';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings } from '@kat/domain';
import { TASK_QUEUES, TaskAdmission, TaskJob } from '@kat/queue';
import type { Queue } from 'bull';
import { TaskExecutor } from '@kat/execution';

/** Rules and reports are SQL in this process: a couple at a time keeps the database for the rest. */
const IN_PROCESS_CONCURRENCY = 2;

/**
 * Takes jobs off the three task queues and hands each task to the executor: a thin adapter, the
 * lifecycle is TaskExecutor's. It offers its plugin slots to the admission (which every worker
 * runs) and asks for a round whenever a task ends. On SIGTERM: withdraw the slots, stop taking
 * jobs, let running tasks finish within the grace period, then stop the rest, whose tasks go back
 * to PENDING for another worker.
 */
@Injectable()
export class TaskQueueConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TaskQueueConsumer.name);

  constructor(
    @InjectQueue(TASK_QUEUES.plugin) private readonly plugins: Queue<TaskJob>,
    @InjectQueue(TASK_QUEUES.business_rule) private readonly rules: Queue<TaskJob>,
    @InjectQueue(TASK_QUEUES.report) private readonly reports: Queue<TaskJob>,
    private readonly executor: TaskExecutor,
    private readonly admission: TaskAdmission,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // queue.process rather than @Process: the concurrency is a setting, not a constant.
    const consumed: Array<[Queue<TaskJob>, number]> = [
      [this.plugins, this.settings.WORKER_CONCURRENCY],
      [this.rules, IN_PROCESS_CONCURRENCY],
      [this.reports, IN_PROCESS_CONCURRENCY],
    ];
    for (const [queue, concurrency] of consumed) {
      void queue.process(concurrency, async (job) => {
        const { outcome } = await this.executor.execute(job.data.task_id);
        this.admission.poke();
        return outcome;
      });
      this.logger.log(`Consuming the ${queue.name} queue, ${concurrency} at a time`);
    }
    await this.admission.start(this.settings.WORKER_CONCURRENCY);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.admission.stop();
    await Promise.all(
      [this.plugins, this.rules, this.reports].map((queue) => queue.pause(true, true).catch(() => undefined)),
    );
    const deadline = Date.now() + this.settings.SHUTDOWN_GRACE_SECONDS * 1000;
    while (this.executor.runningCount > 0 && Date.now() < deadline) await sleep(200);
    if (this.executor.runningCount > 0) {
      this.logger.warn(`Handing ${this.executor.runningCount} running task(s) back to the queue`);
      this.executor.abortAll();
      while (this.executor.runningCount > 0) await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
