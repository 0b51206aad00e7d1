import { ClaimedTask, TaskData, TaskEnding, TaskStatus, TaskType } from '@kat/domain';

/** What a run printed, kept with its task (plugins). */
export type RunLog = NonNullable<TaskEnding['log']>;

/** How a handler's work on one task ended. */
export type HandlerOutcome =
  | { status: TaskStatus.COMPLETED; data?: TaskData; log?: RunLog }
  /** The task's own failure (a plugin's exit code, an unknown rule): final, with a reason a person can act on. */
  | { status: TaskStatus.FAILED; error: string; traceback: string; log?: RunLog }
  /** The run was stopped by its signal (cancelled, taken over, the worker shutting down) before it ended. */
  | { status: 'stopped'; reason: string; log?: RunLog };

/**
 * What one task type does once a worker holds the task; claiming, heartbeats, ending, handing
 * back and chaining are TaskExecutor's, the same for every type. A handler that throws reports a
 * failure of the worker's own (the database went away), not of the task: the task goes back.
 */
export interface TaskHandler {
  handle(task: ClaimedTask, signal: AbortSignal): Promise<HandlerOutcome>;
}

/** The handler of each task type (see task-run.module.ts). */
export type TaskHandlers = Record<TaskType, TaskHandler>;
export const TASK_HANDLERS = Symbol('TASK_HANDLERS');

/** Why a run was stopped on purpose. */
export const SHUTDOWN = 'worker shutting down';
export const LOST = 'task no longer owned by this run';
