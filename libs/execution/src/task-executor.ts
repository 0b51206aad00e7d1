import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClaimedTask, KAT_SETTINGS, KatSettings, TaskRepository, TaskRun, TaskStatus } from '@kat/domain';
import { TaskIntake } from '@kat/queue';
import { KatMetrics } from '@kat/runtime';
import { HandlerOutcome, LOST, SHUTDOWN, TASK_HANDLERS, TaskHandlers } from './task-handler';

export type ExecutionResult =
  | { outcome: 'skipped'; reason: string }
  | { outcome: TaskStatus.COMPLETED | TaskStatus.FAILED; error?: string }
  /** This worker stopped and gave the task back (PENDING, queued again) for another worker. */
  | { outcome: 'handed_back' }
  /** The plugin failed and its retry policy has attempts left: PENDING again after a back-off. */
  | { outcome: 'retrying'; error?: string }
  /** The worker lost the task while running it: cancelled, or recovered by the reconciler after a stall. */
  | { outcome: 'lost'; reason: string };

/**
 * One lifecycle for every task type, from claim to final status: claim (a conditional UPDATE),
 * heartbeat (which also tells the run it lost the task), the type's handler, then the ending,
 * conditional on this attempt, or a hand-back. The single code path of the worker's queue
 * consumer and of `kat run-task`.
 */
@Injectable()
export class TaskExecutor {
  private readonly logger = new Logger(TaskExecutor.name);
  /**
   * This worker's runs, by task and attempt (a run that lost its task may still be stopping when
   * the task's next attempt starts here), with how to stop each.
   */
  private readonly running = new Map<string, TaskRun & { abort: AbortController }>();
  /** One heartbeat for all runs (one statement an interval, whatever the concurrency); set while any run. */
  private heartbeat?: NodeJS.Timeout;
  private beating = false;

  constructor(
    private readonly tasks: TaskRepository,
    private readonly intake: TaskIntake,
    private readonly metrics: KatMetrics,
    @Inject(TASK_HANDLERS) private readonly handlers: TaskHandlers,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  get runningCount(): number {
    return this.running.size;
  }

  /** Stops every running task; each goes back to PENDING for another worker. */
  abortAll(reason = SHUTDOWN): void {
    for (const { abort } of this.running.values()) abort.abort(reason);
  }

  async execute(taskId: string): Promise<ExecutionResult> {
    const task = await this.tasks.claim(taskId);
    if (!task) return { outcome: 'skipped', reason: 'not PENDING (already taken, cancelled or finished)' };
    // Every line about a task carries these fields (JSON logs).
    const fields = {
      task_id: task.id,
      type: task.type,
      plugin_id: task.plugin_id ?? undefined,
      organization: task.organization,
      attempt: task.attempts,
    };
    this.logger.log({ msg: 'running task', ...fields });
    const abort = new AbortController();
    const run = `${task.id}:${task.attempts}`;
    this.running.set(run, { id: task.id, attempt: task.attempts, abort });
    this.heartbeat ??= setInterval(() => void this.beat(), this.settings.HEARTBEAT_INTERVAL_MS);
    const timer = this.metrics.taskDuration.startTimer({ plugin_id: task.plugin_id ?? '', type: task.type });
    try {
      const result = await this.end(task, await this.handlers[task.type].handle(task, abort.signal));
      timer({ status: result.outcome });
      this.logger.log({
        msg: 'task ended',
        ...fields,
        outcome: result.outcome,
        ...('error' in result && result.error && { error: result.error }),
      });
      return result;
    } catch (error) {
      // A failure of our own (the database went away, the engine broke), not the task's: it goes
      // back for another run, and fails only once its attempts are used up. If even that write
      // fails, it stays RUNNING and reconcile-tasks recovers it when it goes stale.
      const message = `worker error: ${(error as Error).message}`;
      this.logger.error({ msg: message, ...fields, stack: (error as Error).stack });
      if (
        task.attempts - pluginFailures(task) < this.settings.MAX_ATTEMPTS &&
        (await this.intake.handBack(task).catch(() => false))
      ) {
        timer({ status: 'handed_back' });
        return { outcome: 'handed_back' };
      }
      const data = { error: message, traceback: (error as Error).stack ?? '' };
      await this.tasks
        .finish({ id: task.id, attempt: task.attempts, status: TaskStatus.FAILED, data })
        .catch(() => null);
      timer({ status: TaskStatus.FAILED });
      return { outcome: TaskStatus.FAILED, error: message };
    } finally {
      this.running.delete(run);
      if (this.running.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
    }
  }

  /**
   * Beats for every run at once and stops the runs that lost their task. A beat still under way
   * when the next is due lets it pass: beats must not pile up on a slow database.
   */
  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    const runs = [...this.running.values()].map(({ id, attempt }) => ({ id, attempt }));
    try {
      for (const lost of await this.tasks.heartbeat(runs))
        this.running.get(`${lost.id}:${lost.attempt}`)?.abort.abort(LOST);
    } catch (error) {
      this.logger.warn(`Heartbeat of ${runs.length} tasks failed: ${(error as Error).message}`);
    } finally {
      this.beating = false;
    }
  }

  /**
   * Ends the attempt with its log, in one statement. An empty log is not written on a first
   * attempt (nothing to show, nothing to replace); on a later one it replaces the earlier attempt's.
   */
  private async end(task: ClaimedTask, outcome: HandlerOutcome): Promise<ExecutionResult> {
    if (outcome.status === 'stopped') {
      // Cancelled, taken over or shutting down: not ended here, but what it printed is kept
      // (if it still holds the task).
      if (outcome.log) await this.tasks.saveLog({ task_id: task.id, ...outcome.log }, task.attempts);
      if (outcome.reason === SHUTDOWN && (await this.intake.handBack(task))) return { outcome: 'handed_back' };
      return { outcome: 'lost', reason: outcome.reason };
    }
    const { log } = outcome;
    const keepLog =
      log && (log.stdout || log.stderr || log.stdout_truncated || log.stderr_truncated || task.attempts > 1);
    const data =
      outcome.status === TaskStatus.FAILED
        ? { error: outcome.error, traceback: outcome.traceback }
        : (outcome.data ?? {});
    const ended = await this.tasks.finish({
      id: task.id,
      attempt: task.attempts,
      status: outcome.status,
      data,
      log: keepLog ? log : undefined,
      retriable: outcome.status === TaskStatus.FAILED,
    });
    if (!ended) return { outcome: 'lost', reason: 'the task was cancelled or taken over before it finished' };
    if (ended.status === TaskStatus.PENDING) return { outcome: 'retrying', error: data.error };
    if (outcome.status === TaskStatus.COMPLETED && ended.has_outputs) await this.chain(task);
    return outcome.status === TaskStatus.FAILED
      ? { outcome: outcome.status, error: outcome.error }
      : { outcome: outcome.status };
  }

  /** Schedules whose sets contain what the task found scan it now, with the task as parent. */
  private async chain(task: ClaimedTask): Promise<void> {
    const { tasks, queued } = await this.intake.submitFollowUps(task.id);
    if (tasks.length === 0) return;
    this.logger.log({
      msg: 'follow-up tasks created',
      task_id: task.id,
      plugin_id: task.plugin_id,
      organization: task.organization,
      created: tasks.length,
      queued,
    });
  }
}

/** Failures of the plugin's own so far (kept in data.errors by a retry policy): they are not worker hand-backs. */
function pluginFailures(task: ClaimedTask): number {
  return Array.isArray(task.data.errors) ? task.data.errors.length : 0;
}
