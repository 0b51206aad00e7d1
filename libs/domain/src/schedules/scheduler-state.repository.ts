import { Injectable } from '@nestjs/common';
import { CronTime } from 'cron';
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
}
