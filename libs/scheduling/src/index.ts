export * from './job-runner';
export * from './periodic-job';
export * from './scheduling.module';
export * from './create-scheduled-tasks.job';
export * from './reconcile-tasks.job';
export * from './prune-tasks.job';
export * from './run-business-rules.job';
