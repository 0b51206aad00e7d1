/** A job the scheduler runs on a cron; `run` does one tick's work and says what it did. */
export interface PeriodicJob {
  readonly name: string;
  /** Default cron (with optional seconds field), overridable per job by settings. */
  readonly cron: string;
  run(): Promise<Record<string, number>>;
}

export const PERIODIC_JOBS = Symbol('PERIODIC_JOBS');
