import { Injectable } from '@nestjs/common';
import { NewTask, TaskCursor, TaskRepository, TaskStatus, TaskView, TenantScope } from '@kat/domain';
import { QueueableTask, TaskDispatcher } from './task-dispatcher';

const PENDING_PAGE_SIZE = 1000;

/** "Run now": every object of the schedule's set, whatever the interval, even while the schedule is disabled. */
export const RUN_NOW = { ignoreInterval: true, includeDisabled: true } as const;

/** Tasks a step created, and how many of them reached the queue now (the rest: reconcile-tasks). */
export interface Admitted<T> {
  tasks: T[];
  queued: number;
  /** Time spent handing them to the queue (the rest of a step's time is the database's). */
  queue_ms: number;
}

/**
 * The one way work enters the system: every path that creates a task or makes one PENDING again
 * (the API, the bulk route, the pages' buttons, a schedule's tick, chaining, the reconciler, a
 * worker handing a task back, the CLI) comes through here, so what happens between "a task is
 * PENDING" and "a worker may start it" is decided in one place. Today that is queueing at once;
 * the row is written first, and a queue that is down only delays the task (reconcile-tasks).
 */
@Injectable()
export class TaskIntake {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly dispatcher: TaskDispatcher,
  ) {}

  /** A new task of any type; an active plugin task on the same input is returned instead (`created` false). */
  async submit(task: NewTask): Promise<{ task: TaskView; created: boolean }> {
    const result = await this.tasks.create(task);
    if (result.created) await this.dispatcher.enqueue([result.task]);
    return result;
  }

  /** Plugin tasks of one organization, in one statement: results in request order, `created` the new ones. */
  async submitPluginTasks(organizationId: number, wanted: ReadonlyArray<{ plugin_id: string; input_data: string }>) {
    const result = await this.tasks.createPluginTasks(organizationId, wanted);
    await this.dispatcher.enqueue(result.created);
    return result;
  }

  /** A schedule's due tasks (a tick), or all of its set's objects now (`run now`). */
  async submitScheduled(
    scheduleId: string,
    options: { ignoreInterval?: boolean; includeDisabled?: boolean } = {},
  ): Promise<Admitted<QueueableTask>> {
    return this.admit(await this.tasks.createScheduledTasks(scheduleId, options));
  }

  /** Tasks of schedules that consume what a completed task found, with it as their parent. */
  async submitFollowUps(parentTaskId: string): Promise<Admitted<QueueableTask>> {
    return this.admit(await this.tasks.createFollowUpTasks(parentTaskId));
  }

  /** A business_rule task for all rules in each organization that has none active. */
  async submitRuleTasksForEveryOrganization(): Promise<Admitted<QueueableTask>> {
    return this.admit(await this.tasks.createRuleTasksForEveryOrganization());
  }

  /**
   * FAILED or CANCELLED → PENDING (same id, attempts kept), and back on the queue;
   * null if not visible or not retriable.
   */
  async retry(id: string, scope: TenantScope): Promise<TaskView | null> {
    const task = await this.tasks.retry(id, scope);
    if (task) await this.dispatcher.enqueue([task]);
    return task;
  }

  /** A worker stops before the task ends (shutdown, an error of its own): PENDING again, and queued for another. */
  async handBack(task: QueueableTask): Promise<boolean> {
    if (!(await this.tasks.handBack(task.id, task.attempts))) return false;
    await this.dispatcher.enqueue([task]);
    return true;
  }

  /** A PENDING task offered to the queue again now ("Run task"); 0 when the queue is unreachable. */
  requeue(task: QueueableTask): Promise<number> {
    return this.dispatcher.enqueue([task]);
  }

  /** RUNNING tasks whose worker went silent: PENDING and queued again, or FAILED after their last attempt. */
  async recoverStale(
    staleSeconds: number,
    maxAttempts: number,
  ): Promise<{ handed_back: number; failed: number; queued: number }> {
    const recovered = await this.tasks.recoverStale(staleSeconds, maxAttempts);
    const handedBack = recovered.filter((t) => t.status === TaskStatus.PENDING);
    const queued = handedBack.length > 0 ? await this.dispatcher.enqueue(handedBack) : 0;
    return { handed_back: handedBack.length, failed: recovered.length - handedBack.length, queued };
  }

  /**
   * PENDING tasks older than `olderThanSeconds` whose job is not in Redis (it was down, or lost data):
   * queued again.
   */
  async requeueMissing(olderThanSeconds: number): Promise<number> {
    let requeued = 0;
    let after: TaskCursor | null = null;
    for (;;) {
      const page = await this.tasks.pendingPage(olderThanSeconds, after, PENDING_PAGE_SIZE);
      if (page.length === 0) break;
      for (const type of new Set(page.map((t) => t.type))) {
        const missing = await this.dispatcher.missingFromQueue(
          type,
          page.filter((t) => t.type === type),
        );
        if (missing.length > 0) requeued += await this.dispatcher.enqueue(missing);
      }
      if (page.length < PENDING_PAGE_SIZE) break;
      after = page[page.length - 1];
    }
    return requeued;
  }

  private async admit<T extends QueueableTask>(tasks: T[]): Promise<Admitted<T>> {
    const started = Date.now();
    const queued = tasks.length > 0 ? await this.dispatcher.enqueue(tasks) : 0;
    return { tasks, queued, queue_ms: Date.now() - started };
  }
}
