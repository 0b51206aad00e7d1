/** A job the scheduler runs on the cron stored for it in `scheduler_job`; `run` does one tick's work. */
export interface PeriodicJob {
  readonly name: string;
  /** One tick; the counts it returns are shown as the job's `last_result`. */
  run(): Promise<Record<string, number>>;
}

export const PERIODIC_JOBS = Symbol('PERIODIC_JOBS');
