import { Injectable } from '@nestjs/common';
import { CronTime } from 'cron';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface SchedulerJobState {
  name: string;
  enabled: boolean;
  cron: string;
  next_run_at: Date;
  last_run_at: Date | null;
  last_duration_ms: number | null;
  last_result: Record<string, unknown> | null;
}

/** The next time `cron` fires after now; throws for an invalid expression. */
export function nextRun(cron: string): Date {
  return new CronTime(cron).sendAt().toJSDate();
}

/** Each job's tick holds a PostgreSQL advisory lock named after it, so replicas never run one tick twice. */
export function lockKey(jobName: string): string {
  return createHash('sha256').update(`kat:${jobName}`).digest().readBigInt64BE().toString();
}

/**
 * The scheduler's switches and job records, in PostgreSQL so that every replica sees a change
 * within one poll, without a restart.
 */
@Injectable()
export class SchedulerStateRepository {
  constructor(private readonly db: DataSource) {}

  async globalEnabled(): Promise<boolean> {
    const [row] = await this.db.query(`SELECT enabled FROM scheduler_config`);
    return row.enabled;
  }

  async setGlobalEnabled(enabled: boolean): Promise<void> {
    await this.db.query(`UPDATE scheduler_config SET enabled = $1`, [enabled]);
  }

  async jobs(): Promise<SchedulerJobState[]> {
    return this.db.query(`SELECT * FROM scheduler_job ORDER BY name`);
  }

  async job(name: string): Promise<SchedulerJobState | null> {
    const rows = await this.db.query(`SELECT * FROM scheduler_job WHERE name = $1`, [name]);
    return rows[0] ?? null;
  }

  /** Changes a job's switch or cron; a new cron also moves its next run. */
  async updateJob(name: string, change: { enabled?: boolean; cron?: string }): Promise<SchedulerJobState | null> {
    const rows = await this.db.query(
      `UPDATE scheduler_job SET enabled = COALESCE($2, enabled), cron = COALESCE($3, cron),
         next_run_at = COALESCE($4, next_run_at) WHERE name = $1 RETURNING *`,
      [name, change.enabled ?? null, change.cron ?? null, change.cron ? nextRun(change.cron) : null],
    );
    return rows[0][0] ?? null;
  }

  /** Names of the jobs whose next run is due, with whether they may run now. */
  async dueJobs(): Promise<Array<{ name: string; cron: string; runnable: boolean }>> {
    return this.db.query(
      `SELECT j.name, j.cron, (j.enabled AND c.enabled) AS runnable FROM scheduler_job j, scheduler_config c
       WHERE j.next_run_at <= now()`,
    );
  }

  /** Moves a job's next run on without running it (the job or the scheduler is switched off). */
  async skip(name: string, cron: string): Promise<void> {
    await this.db.query(`UPDATE scheduler_job SET next_run_at = $2 WHERE name = $1`, [name, nextRun(cron)]);
  }

  /** Makes a job due now, whatever its cron (the CLI's `run-job`). */
  async makeDueNow(name: string): Promise<void> {
    await this.db.query(`UPDATE scheduler_job SET next_run_at = now() WHERE name = $1`, [name]);
  }

  /**
   * Runs `work` as job `name`'s tick if no replica holds the job's advisory lock and the job is
   * still due once the lock is held; records the tick (`work`'s result, its duration, the next run
   * after its cron) before letting go. Lock, re-check and record share one dedicated connection:
   * a session lock belongs to the connection that took it. `work` runs on the pool; if it throws,
   * nothing is recorded. Null when locked elsewhere or no longer due. Per tick: scheduler_job's key.
   */
  async runUnderLock<T extends object>(name: string, work: () => Promise<T>): Promise<T | null> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock($1::bigint) AS locked`, [lockKey(name)]);
      if (!locked) return null;
      try {
        const [due] = await runner.query(`SELECT cron FROM scheduler_job WHERE name = $1 AND next_run_at <= now()`, [
          name,
        ]);
        if (!due) return null;
        const started = Date.now();
        const result = await work();
        await runner.query(
          `UPDATE scheduler_job SET last_run_at = now(), last_duration_ms = $2, last_result = $3, next_run_at = $4
           WHERE name = $1`,
          [name, Date.now() - started, result, nextRun(due.cron)],
        );
        return result;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1::bigint)`, [lockKey(name)]);
      }
    } finally {
      await runner.release();
    }
  }
}
