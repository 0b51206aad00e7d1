export * from './queue.module';
export * from './queues';
export * from './task-dispatcher';
export * from './task-intake';
export * from './task-admission';
export * from './with-timeout';
