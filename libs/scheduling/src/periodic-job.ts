/** A job the scheduler runs on the cron stored for it in `scheduler_job`; `run` does one tick's work. */
export interface PeriodicJob {
  readonly name: string;
  /** Runs beside the other jobs instead of in turn with them (long work that must not hold up a tick). */
  readonly beside?: boolean;
  /** One tick; the counts it returns are shown as the job's `last_result`. */
  run(): Promise<Record<string, number>>;
}

export const PERIODIC_JOBS = Symbol('PERIODIC_JOBS');
