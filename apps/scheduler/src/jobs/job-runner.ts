import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { KAT_SETTINGS, KatSettings } from '@kat/domain';
import { CronJob } from 'cron';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { PERIODIC_JOBS, PeriodicJob } from './periodic-job';

/** Each job's tick holds a PostgreSQL advisory lock named after it, so replicas never run one tick twice. */
export function lockKey(jobName: string): string {
  return createHash('sha256').update(`kat:${jobName}`).digest().readBigInt64BE().toString();
}

/** Runs the periodic jobs on their crons, one replica at a time per job. */
@Injectable()
export class JobRunner implements OnApplicationBootstrap {
  private readonly logger = new Logger(JobRunner.name);

  constructor(
    @Inject(PERIODIC_JOBS) private readonly jobs: PeriodicJob[],
    private readonly registry: SchedulerRegistry,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.settings.SCHEDULER_ENABLED) {
      this.logger.warn('SCHEDULER_ENABLED is false: no periodic job runs in this process');
      return;
    }
    for (const job of this.jobs) {
      const cron = this.settings.RECONCILE_CRON && job.name === 'reconcile-tasks' ? this.settings.RECONCILE_CRON : job.cron;
      const cronJob = CronJob.from({ cronTime: cron, onTick: () => void this.tick(job), start: true, waitForCompletion: true });
      this.registry.addCronJob(job.name, cronJob);
      this.logger.log(`${job.name} runs on "${cron}"`);
    }
  }

  /** One tick of a job, unless another replica is running it now; null when skipped. */
  async tick(job: PeriodicJob): Promise<Record<string, number> | null> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock($1::bigint) AS locked`, [lockKey(job.name)]);
      if (!locked) return null;
      const started = Date.now();
      try {
        const result = await job.run();
        this.logger.debug(`${job.name} done in ${Date.now() - started} ms: ${JSON.stringify(result)}`);
        return result;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1::bigint)`, [lockKey(job.name)]);
      }
    } catch (error) {
      this.logger.error(`${job.name} failed: ${(error as Error).message}`, (error as Error).stack);
      return null;
    } finally {
      await runner.release();
    }
  }
}
