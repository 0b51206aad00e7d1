export * from './queue.module';
export * from './queues';
export * from './task-dispatcher';
export * from './health-port';
export * from './metrics';
export * from './task-intake';
