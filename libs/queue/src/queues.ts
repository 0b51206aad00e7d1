import { TaskType } from '@kat/domain';

/** One Bull queue per task type, so each kind of worker takes only its own jobs. */
export const TASK_QUEUES: Record<TaskType, string> = {
  [TaskType.PLUGIN]: 'plugin',
  [TaskType.BUSINESS_RULE]: 'business_rule',
  [TaskType.REPORT]: 'report',
};
export const QUEUE_NAMES = Object.values(TASK_QUEUES);

/** The whole payload of a task job: the task row holds everything else. */
export interface TaskJob {
  task_id: string;
}
