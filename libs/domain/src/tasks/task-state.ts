/** The task state machine. The database enforces the same transitions (see the Spine migration). */
export enum TaskStatus {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

export enum TaskType {
  PLUGIN = 'plugin',
  BUSINESS_RULE = 'business_rule',
  REPORT = 'report',
}

export const TASK_STATUSES = Object.values(TaskStatus);
export const TASK_TYPES = Object.values(TaskType);

/**
 * Allowed status changes. RUNNING → PENDING is the hand-back of a task whose worker died or shut
 * down; FAILED/CANCELLED → PENDING is a retry. COMPLETED is final.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  [TaskStatus.PENDING]: [TaskStatus.RUNNING, TaskStatus.CANCELLED],
  [TaskStatus.RUNNING]: [TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.PENDING],
  [TaskStatus.COMPLETED]: [],
  [TaskStatus.FAILED]: [TaskStatus.PENDING],
  [TaskStatus.CANCELLED]: [TaskStatus.PENDING],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}
