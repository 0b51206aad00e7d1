import { getQueueToken } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TaskType } from '@kat/domain';
import type { JobOptions, Queue } from 'bull';
import { TASK_QUEUES, TaskJob } from './queues';
import { withTimeout } from './with-timeout';

const ENQUEUE_TIMEOUT_MS = 10_000;
const NO_ANSWER = `no answer from Redis within ${ENQUEUE_TIMEOUT_MS} ms`;
/** Jobs per addBulk: one Redis pipeline each, big enough to amortise round trips, small enough for memory. */
const BULK_SIZE = 2000;

/** A task as far as queueing goes: `attempts` tells a first delivery from a re-delivery. */
export interface QueueableTask {
  id: string;
  type: TaskType;
  attempts: number;
}

/**
 * The job id is the task id, so queueing a task twice is a no-op. A task that was claimed before
 * (handed back by a dead or stopping worker, or retried) gets the attempt as a suffix: the old
 * job may still sit in Redis, locked by a dead worker, and must not swallow the new one.
 */
export function jobIdFor(task: Pick<QueueableTask, 'id' | 'attempts'>): string {
  return task.attempts === 0 ? task.id : `${task.id}.${task.attempts}`;
}

function jobOptions(task: QueueableTask): JobOptions {
  // Removed when done: a kept job record would also make a later re-queue of the same id a no-op.
  return { jobId: jobIdFor(task), removeOnComplete: true, removeOnFail: true, attempts: 1 };
}

/**
 * The one way tasks reach Bull. Queueing is best effort: the task row is the truth, and the
 * scheduler's reconcile-tasks job queues any PENDING task that is missing from its queue.
 */
@Injectable()
export class TaskDispatcher {
  private readonly logger = new Logger(TaskDispatcher.name);

  constructor(private readonly moduleRef: ModuleRef) {}

  queueFor(type: TaskType): Queue<TaskJob> {
    return this.moduleRef.get<Queue<TaskJob>>(getQueueToken(TASK_QUEUES[type]), { strict: false });
  }

  /** Adds jobs for the tasks; returns how many were handed to Redis (0 when Redis is unreachable). */
  async enqueue(tasks: ReadonlyArray<QueueableTask>): Promise<number> {
    let queued = 0;
    for (const type of new Set(tasks.map((t) => t.type))) {
      const queue = this.queueFor(type);
      const jobs = tasks.filter((t) => t.type === type).map((t) => ({ data: { task_id: t.id }, opts: jobOptions(t) }));
      if (queue.client.status !== 'ready') {
        this.logger.warn(
          `Redis is not reachable: ${jobs.length} ${type} task(s) stay PENDING until reconcile-tasks queues them`,
        );
        continue;
      }
      try {
        for (let start = 0; start < jobs.length; start += BULK_SIZE) {
          const chunk = jobs.slice(start, start + BULK_SIZE);
          await withTimeout(queue.addBulk(chunk), ENQUEUE_TIMEOUT_MS, NO_ANSWER);
          queued += chunk.length;
        }
      } catch (error) {
        this.logger.warn(
          `Could not queue ${jobs.length - queued} ${type} task(s), reconcile-tasks will: ${(error as Error).message}`,
        );
      }
    }
    return queued;
  }

  /** Of the given tasks (of one type), those with no job record in their queue (Redis EXISTS, one round trip). */
  async missingFromQueue<T extends QueueableTask>(type: TaskType, tasks: T[]): Promise<T[]> {
    const queue = this.queueFor(type);
    const pipeline = queue.client.pipeline();
    for (const task of tasks) pipeline.exists(queue.toKey(jobIdFor(task)));
    const results = (await withTimeout(pipeline.exec(), ENQUEUE_TIMEOUT_MS, NO_ANSWER)) ?? [];
    return tasks.filter((_, i) => results[i]?.[1] === 0);
  }
}
