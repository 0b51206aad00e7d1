import { Injectable } from '@nestjs/common';
import {
  AdmittedCursor,
  AuditActor,
  NewTask,
  ScheduledTaskOptions,
  TaskFilters,
  TaskRepository,
  TaskStatus,
  TaskType,
  TaskView,
  TenantScope,
  WantedPluginTask,
} from '@kat/domain';
import { QueueableTask, TaskDispatcher } from './task-dispatcher';

const ADMITTED_PAGE_SIZE = 1000;

/** "Run now": every object of the schedule's set, whatever the interval, even while the schedule is disabled. */
export const RUN_NOW = { ignoreInterval: true, includeDisabled: true } as const;

/** Tasks a step created, and how many of them reached the queue now (plugin tasks wait for admission). */
export interface Submitted<T> {
  tasks: T[];
  queued: number;
}

/**
 * The one way work enters the system: every path that creates a task or makes one PENDING again
 * (the API, the bulk route, the pages' buttons, a schedule's tick, chaining, the reconciler, a
 * worker handing a task back, the CLI) comes through here. The row is written first. A plugin
 * task then waits in PostgreSQL until the admission (TaskAdmission, in the workers) gives it a
 * slot in its turn; rules and reports, which run in the worker's own process, are queued at once.
 * A queue that is down only delays a task (reconcile-tasks queues admitted tasks it lost).
 */
@Injectable()
export class TaskIntake {
  private readonly admissionListeners = new Set<() => void>();

  constructor(
    private readonly tasks: TaskRepository,
    private readonly dispatcher: TaskDispatcher,
  ) {}

  /** `listener` runs whenever plugin tasks join the waiting line in this process (an admission round may follow). */
  onWaiting(listener: () => void): () => void {
    this.admissionListeners.add(listener);
    return () => this.admissionListeners.delete(listener);
  }

  /**
   * A new task of any type; an active plugin task on the same input is returned instead (`created`
   * false). `inputFields` are a plugin task's input key fields, for its plugin's rate key; with
   * `auditAs`, a task it creates is audited as created by that actor, in the same commit.
   */
  async submit(
    task: NewTask,
    inputFields?: Record<string, string>,
    auditAs?: AuditActor,
  ): Promise<{ task: TaskView; created: boolean }> {
    const result = await this.tasks.create(task, inputFields, auditAs);
    if (result.created) await this.deliver([result.task]);
    return result;
  }

  /** Plugin tasks of one organization, in one statement: results in request order, `created` the new ones. */
  async submitPluginTasks(organizationId: number, wanted: ReadonlyArray<WantedPluginTask>, priority: number) {
    const result = await this.tasks.createPluginTasks(organizationId, wanted, priority);
    this.announceWaiting(result.created.length);
    return result;
  }

  /** A schedule's due tasks (a tick), or all of its set's objects now (`run now`). */
  async submitScheduled(scheduleId: string, options: ScheduledTaskOptions = {}): Promise<Submitted<QueueableTask>> {
    return this.deliver(await this.tasks.createScheduledTasks(scheduleId, options));
  }

  /** Tasks of schedules that consume what a completed task found, with it as their parent. */
  async submitFollowUps(parentTaskId: string): Promise<Submitted<QueueableTask>> {
    return this.deliver(await this.tasks.createFollowUpTasks(parentTaskId));
  }

  /** A business_rule task for all rules in each organization that has none active. */
  async submitRuleTasksForEveryOrganization(): Promise<Submitted<QueueableTask>> {
    return this.deliver(await this.tasks.createRuleTasksForEveryOrganization());
  }

  /**
   * FAILED or CANCELLED → PENDING (same id, attempts kept), back in line;
   * null if not visible or not retriable.
   */
  async retry(id: string, scope: TenantScope): Promise<TaskView | null> {
    const task = await this.tasks.retry(id, scope);
    if (task) await this.deliver([task]);
    return task;
  }

  /** Bulk retry of the tasks matching the filters (see TaskRepository.retryMatching), back in line; how many. */
  async retryMatching(scope: TenantScope, filters: TaskFilters): Promise<number> {
    return (await this.deliver(await this.tasks.retryMatching(scope, filters))).tasks.length;
  }

  /** A worker stops before the task ends (shutdown, an error of its own): PENDING again, for another worker. */
  async handBack(task: QueueableTask): Promise<boolean> {
    if (!(await this.tasks.handBack(task.id, task.attempts))) return false;
    await this.deliver([task]);
    return true;
  }

  /**
   * "Run task": a PENDING task admitted and queued now, past its turn, its back-off and its rate
   * limit (an operator's decision); null if no such task is visible. `queued` is 0 when the
   * queue is unreachable.
   */
  async runNow(id: string, scope: TenantScope): Promise<{ task: TaskView; queued: number } | null> {
    const task = await this.tasks.admitNow(id, scope);
    if (!task) return null;
    return { task, queued: await this.dispatcher.enqueue([task]) };
  }

  /** Admitted tasks, in the order they should be delivered, handed to their queues. */
  deliverAdmitted(tasks: ReadonlyArray<QueueableTask>): Promise<number> {
    return this.dispatcher.enqueue(tasks);
  }

  /** RUNNING tasks whose worker went silent: PENDING again (back in line), or FAILED after their last attempt. */
  async recoverStale(
    staleSeconds: number,
    maxAttempts: number,
  ): Promise<{ handed_back: number; failed: number; queued: number }> {
    const recovered = await this.tasks.recoverStale(staleSeconds, maxAttempts);
    const handedBack = recovered.filter((t) => t.status === TaskStatus.PENDING);
    const { queued } = await this.deliver(handedBack);
    return { handed_back: handedBack.length, failed: recovered.length - handedBack.length, queued };
  }

  /**
   * Admitted PENDING tasks, admitted over `olderThanSeconds` ago, whose job is not in Redis (it
   * was down, or lost data): queued again.
   */
  async requeueMissing(olderThanSeconds: number): Promise<number> {
    let requeued = 0;
    let after: AdmittedCursor | null = null;
    for (;;) {
      const page = await this.tasks.admittedPage(olderThanSeconds, after, ADMITTED_PAGE_SIZE);
      if (page.length === 0) break;
      for (const type of new Set(page.map((t) => t.type))) {
        const missing = await this.dispatcher.missingFromQueue(
          type,
          page.filter((t) => t.type === type),
        );
        if (missing.length > 0) requeued += await this.dispatcher.enqueue(missing);
      }
      if (page.length < ADMITTED_PAGE_SIZE) break;
      after = page[page.length - 1];
    }
    return requeued;
  }

  /** Queues what runs in the worker's own process; plugin tasks join the waiting line instead. */
  private async deliver<T extends QueueableTask>(tasks: T[]): Promise<Submitted<T>> {
    const now = tasks.filter((t) => t.type !== TaskType.PLUGIN);
    const queued = now.length > 0 ? await this.dispatcher.enqueue(now) : 0;
    this.announceWaiting(tasks.length - now.length);
    return { tasks, queued };
  }

  private announceWaiting(count: number): void {
    if (count > 0) for (const listener of this.admissionListeners) listener();
  }
}
