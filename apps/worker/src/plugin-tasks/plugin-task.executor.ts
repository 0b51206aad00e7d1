import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ClaimedTask, KAT_SETTINGS, KatSettings, ObjectRepository, parseObjectKey, PluginTokenService, ScheduleRepository, TaskEnding, TaskRepository, TaskStatus,
} from '@kat/domain';
import { KatMetrics, TaskDispatcher } from '@kat/queue';
import { PLUGIN_RUNNER, PluginRunResult, PluginRunner, PluginStartError } from '../plugin-runner/plugin-runner';
import { pluginRunSpec } from './plugin-run-spec';
import { StdoutIngester } from './stdout-ingester';

export type ExecutionResult =
  | { outcome: 'skipped'; reason: string }
  | { outcome: TaskStatus.COMPLETED | TaskStatus.FAILED; error?: string }
  /** This worker stopped and gave the task back (PENDING) for another worker. */
  | { outcome: 'handed_back'; task: ClaimedTask }
  /** The worker lost the task while running it: cancelled, or recovered by the reconciler after a stall. */
  | { outcome: 'lost'; reason: string };

/** Why a run was stopped on purpose. */
export const SHUTDOWN = 'worker shutting down';
const LOST = 'task no longer owned by this run';
const BAD_OUTPUT = 'bad output';

/**
 * Runs one plugin task from claim to final status: the single code path of the worker's queue
 * consumer and of `kat run-task`.
 */
@Injectable()
export class PluginTaskExecutor {
  private readonly logger = new Logger(PluginTaskExecutor.name);
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly tasks: TaskRepository,
    private readonly objects: ObjectRepository,
    private readonly pluginTokens: PluginTokenService,
    private readonly schedules: ScheduleRepository,
    private readonly dispatcher: TaskDispatcher,
    private readonly metrics: KatMetrics,
    @Inject(PLUGIN_RUNNER) private readonly runner: PluginRunner,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  get runningCount(): number {
    return this.running.size;
  }

  async execute(taskId: string): Promise<ExecutionResult> {
    const task = await this.tasks.claim(taskId);
    if (!task) return { outcome: 'skipped', reason: 'not PENDING (already taken, cancelled or finished)' };
    // Every line about a task carries these fields (JSON logs).
    const fields = { task_id: task.id, plugin_id: task.plugin_id, organization: task.organization, attempt: task.attempts };
    this.logger.log({ msg: 'running plugin task', ...fields });
    const abort = new AbortController();
    this.running.set(task.id, abort);
    const heartbeat = setInterval(() => void this.beat(task, abort), this.settings.HEARTBEAT_INTERVAL_MS);
    const timer = this.metrics.taskDuration.startTimer({ plugin_id: String(task.plugin_id), type: task.type });
    try {
      const result = await this.run(task, abort.signal);
      timer({ status: result.outcome });
      this.logger.log({ msg: 'plugin task ended', ...fields, outcome: result.outcome, ...('error' in result && result.error && { error: result.error }) });
      return result;
    } catch (error) {
      // A failure of our own (the database went away, the engine broke), not the plugin's: the
      // task goes back for another run, and fails only once its attempts are used up. If even
      // that write fails, it stays RUNNING and reconcile-tasks recovers it when it goes stale.
      const message = `worker error: ${(error as Error).message}`;
      this.logger.error({ msg: message, ...fields, stack: (error as Error).stack });
      if (task.attempts < this.settings.MAX_ATTEMPTS && (await this.tasks.handBack(task.id, task.attempts).catch(() => false))) {
        timer({ status: 'handed_back' });
        return { outcome: 'handed_back', task };
      }
      await this.tasks.finish({ id: task.id, attempt: task.attempts, status: TaskStatus.FAILED, data: { error: message, traceback: (error as Error).stack ?? '' } }).catch(() => null);
      timer({ status: TaskStatus.FAILED });
      return { outcome: TaskStatus.FAILED, error: message };
    } finally {
      clearInterval(heartbeat);
      this.running.delete(task.id);
    }
  }

  /** Stops every running plugin; each of their tasks goes back to PENDING for another worker. */
  abortAll(reason = SHUTDOWN): void {
    for (const abort of this.running.values()) abort.abort(reason);
  }

  private async beat(task: ClaimedTask, abort: AbortController): Promise<void> {
    try {
      if (!(await this.tasks.heartbeat(task.id, task.attempts))) abort.abort(LOST);
    } catch (error) {
      this.logger.warn(`Heartbeat of task ${task.id} failed: ${(error as Error).message}`);
    }
  }

  private async run(task: ClaimedTask, signal: AbortSignal): Promise<ExecutionResult> {
    const fail = (error: string, log?: TaskLogText) => this.finish(task, TaskStatus.FAILED, log, error);
    const { plugin } = task;
    if (!plugin) return fail(`plugin ${task.plugin_id} does not exist (any more)`);
    if (!plugin.enabled) return fail(`plugin ${plugin.plugin_id} is disabled`);
    const input = parseObjectKey(String(task.data.input_data), plugin.consumes);
    if ('error' in input) return fail(`input_data ${task.data.input_data} is not valid for ${plugin.plugin_id}: ${input.error}`);

    // The plugin's stdout lines become objects as they come; a bad line stops the plugin.
    const stop = new AbortController();
    signal.addEventListener('abort', () => stop.abort(signal.reason), { once: true });
    const producer = { task_id: task.id, plugin_id: plugin.plugin_id, input_object: String(task.data.input_data) };
    const ingester = new StdoutIngester(this.objects, task.organization_id, producer, () => stop.abort(BAD_OUTPUT));
    const spec = pluginRunSpec(task, plugin, input, this.settings, {
      token: await this.pluginTokens.sign({ task_id: task.id, attempt: task.attempts, organization_id: task.organization_id }, plugin.timeout_seconds),
      inputObject: task.input_objects.find((o) => o.object_type === input.objectType) ?? null,
      onStdoutLine: ingester.line,
    });
    let result: PluginRunResult;
    try {
      result = await this.runner.run(spec, stop.signal);
    } catch (error) {
      if (error instanceof PluginStartError) {
        this.metrics.containerFailures.inc({ reason: 'start_error' });
        return fail(`plugin ${plugin.plugin_id} could not start: ${error.message}`);
      }
      throw error;
    }
    await ingester.finish();
    const failure = failureReason(result.outcome);
    if (failure) this.metrics.containerFailures.inc({ reason: failure });
    const log: TaskLogText = {
      stdout: result.stdout.text,
      stderr: result.stderr.text,
      stdout_truncated: result.stdout.truncated,
      stderr_truncated: result.stderr.truncated,
    };
    switch (result.outcome.kind) {
      case 'aborted':
        if (result.outcome.reason === BAD_OUTPUT) return fail(`plugin ${plugin.plugin_id} printed a bad object: ${ingester.error}`, log);
        // Cancelled, taken over or handed back: not ended here, but what the plugin printed is kept.
        await this.tasks.saveLog({ task_id: task.id, ...log }, task.attempts);
        if (result.outcome.reason === SHUTDOWN && (await this.tasks.handBack(task.id, task.attempts))) {
          return { outcome: 'handed_back', task };
        }
        return { outcome: 'lost', reason: result.outcome.reason };
      case 'timed_out':
        return fail(`plugin ${plugin.plugin_id} timed out after ${plugin.timeout_seconds} s and was killed`, log);
      case 'exited': {
        const { exitCode } = result.outcome;
        if (exitCode === 0) return this.finish(task, TaskStatus.COMPLETED, log);
        if (exitCode === 137) return fail(`plugin ${plugin.plugin_id} was killed (out of memory? its limit is ${plugin.memory_mb} MB)`, log);
        const lastLine = lastNonEmptyLine(log.stderr);
        return fail(`plugin ${plugin.plugin_id} exited with code ${exitCode}${lastLine ? `: ${lastLine}` : ''}`, log);
      }
    }
  }

  /**
   * Ends the attempt with its log, in one statement. An empty log is not written on a first
   * attempt (nothing to show, nothing to replace); on a later one it replaces the earlier attempt's.
   */
  private async finish(task: ClaimedTask, status: TaskStatus.COMPLETED | TaskStatus.FAILED, log?: TaskLogText, error?: string): Promise<ExecutionResult> {
    const data = status === TaskStatus.FAILED ? { error, traceback: log?.stderr ?? '' } : {};
    const keepLog = log && (log.stdout || log.stderr || log.stdout_truncated || log.stderr_truncated || task.attempts > 1);
    const ended = await this.tasks.finish({ id: task.id, attempt: task.attempts, status, data, log: keepLog ? log : undefined });
    if (!ended) return { outcome: 'lost', reason: 'the task was cancelled or taken over before it finished' };
    if (status === TaskStatus.COMPLETED && ended.has_outputs) await this.chain(task);
    return { outcome: status, error };
  }

  /** Schedules whose sets contain what the task found scan it now, with the task as parent. */
  private async chain(task: ClaimedTask): Promise<void> {
    const followUps = await this.schedules.createFollowUpTasks(task.id);
    if (followUps.length === 0) return;
    const queued = await this.dispatcher.enqueue(followUps);
    this.logger.log({ msg: 'follow-up tasks created', task_id: task.id, plugin_id: task.plugin_id, organization: task.organization, created: followUps.length, queued });
  }
}

type TaskLogText = NonNullable<TaskEnding['log']>;

/** The container-failure reason a run's outcome counts as, if any. */
function failureReason(outcome: PluginRunResult['outcome']): string | null {
  if (outcome.kind === 'timed_out') return 'timeout';
  if (outcome.kind === 'aborted') return outcome.reason === BAD_OUTPUT ? 'bad_output' : null;
  if (outcome.exitCode === 0) return null;
  return outcome.exitCode === 137 ? 'oom_kill' : 'exit_code';
}

function lastNonEmptyLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
