export * from './execution.module';
export * from './task-executor';
export * from './task-handler';
export { dockerClient } from './plugin-runner/container-plugin-runner';
export { OrphanContainerReaper } from './plugin-runner/orphan-container-reaper';
