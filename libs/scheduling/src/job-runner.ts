import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { KAT_SETTINGS, KatSettings, SchedulerStateRepository } from '@kat/domain';
import { KatMetrics } from '@kat/runtime';
import { PERIODIC_JOBS, PeriodicJob } from './periodic-job';

/** The advisory lock key of a job's tick: tests hold a job's lock by hand, as another replica would. */
export { lockKey } from '@kat/domain';

/**
 * Runs the periodic jobs. Every replica polls `scheduler_job` (the local timer is @nestjs/schedule);
 * a due job runs under its advisory lock, re-checked as due once the lock is held, and its
 * `next_run_at` moves on before the lock is released: so each tick runs once across replicas,
 * and switches and crons changed in PostgreSQL apply at the next poll everywhere.
 */
@Injectable()
export class JobRunner implements OnApplicationBootstrap {
  private readonly logger = new Logger(JobRunner.name);
  private polling = false;
  /** Jobs that run beside the others, while they run. */
  private readonly runningBeside = new Set<string>();

  constructor(
    @Inject(PERIODIC_JOBS) private readonly jobs: PeriodicJob[],
    private readonly registry: SchedulerRegistry,
    private readonly state: SchedulerStateRepository,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
    private readonly metrics: KatMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.settings.SCHEDULER_ENABLED) {
      this.logger.warn('SCHEDULER_ENABLED is false: no periodic job runs in this process');
      return;
    }
    this.registry.addInterval(
      'poll-scheduler-jobs',
      setInterval(() => void this.poll(), this.settings.SCHEDULER_POLL_MS),
    );
    this.logger.log(
      `Polling for due jobs (${this.jobs.map((j) => j.name).join(', ')}) every ${this.settings.SCHEDULER_POLL_MS} ms`,
    );
  }

  /** Runs every due job once; skips those switched off. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const due of await this.state.dueJobs()) {
        const job = this.jobs.find((j) => j.name === due.name);
        if (!job) continue;
        if (!due.runnable) await this.state.skip(due.name, due.cron);
        else if (job.beside) this.runBeside(job);
        else await this.runIfDue(job);
      }
    } catch (error) {
      this.logger.error(`Polling the scheduler's jobs failed: ${(error as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  /** Starts `job` without waiting for it, unless it is still running here from an earlier poll. */
  private runBeside(job: PeriodicJob): void {
    if (this.runningBeside.has(job.name)) return;
    this.runningBeside.add(job.name);
    void this.runIfDue(job)
      .catch((error: Error) => this.logger.error(`${job.name} failed: ${error.message}`))
      .finally(() => this.runningBeside.delete(job.name));
  }

  /** Runs `job` if it is due and no replica runs it now; returns what it did, or null. */
  async runIfDue(job: PeriodicJob): Promise<Record<string, number> | null> {
    const tick = await this.state.runUnderLock(job.name, async () => {
      const started = Date.now();
      let result: Record<string, number | string>;
      try {
        result = await job.run();
      } catch (error) {
        this.logger.error(`${job.name} failed: ${(error as Error).message}`, (error as Error).stack);
        result = { error: (error as Error).message };
      }
      this.metrics.tickDuration.observe({ job: job.name }, (Date.now() - started) / 1000);
      if (typeof result.tasks_created === 'number') {
        this.metrics.tasksCreated.inc({ job: job.name }, result.tasks_created);
      }
      return result;
    });
    return tick === null || 'error' in tick ? null : (tick as Record<string, number>);
  }
}
