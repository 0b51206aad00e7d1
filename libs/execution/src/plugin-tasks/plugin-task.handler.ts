import { Inject, Injectable } from '@nestjs/common';
import {
  ClaimedTask,
  consumedFile,
  KAT_SETTINGS,
  KatSettings,
  ObjectRepository,
  parseObjectKey,
  Plugin,
  PluginOutput,
  PluginRepository,
  PluginSettingRepository,
  PluginTokenService,
  SettingDecryptionError,
  TASK_OUTPUT_STORE,
  TaskOutputStore,
  TaskRepository,
  TaskStatus,
} from '@kat/domain';
import { KatMetrics } from '@kat/runtime';
import { PLUGIN_RUNNER, PluginRunResult, PluginRunner, PluginStartError } from '../plugin-runner/plugin-runner';
import { HandlerOutcome, RunLog, TaskHandler } from '../task-handler';
import { pluginRunSpec, RunInput } from './plugin-run-spec';
import { SecretMask } from './secret-mask';
import { StdoutIngester } from './stdout-ingester';

const BAD_OUTPUT = 'bad output';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A plugin task: its plugin's container, with the task's input and its organization's own settings
 * of the plugin. Its stdout lines become objects, or, for a raw-output plugin, its stdout is kept
 * whole as the task's output file (for normalizers, whose input is such a file). The settings'
 * values are masked in all it returns to be stored (the log, data.error, data.traceback) and in
 * any error it throws.
 */
@Injectable()
export class PluginTaskHandler implements TaskHandler {
  constructor(
    private readonly objects: ObjectRepository,
    private readonly tasks: TaskRepository,
    private readonly plugins: PluginRepository,
    @Inject(TASK_OUTPUT_STORE) private readonly outputs: TaskOutputStore,
    private readonly pluginTokens: PluginTokenService,
    private readonly pluginSettings: PluginSettingRepository,
    private readonly metrics: KatMetrics,
    @Inject(PLUGIN_RUNNER) private readonly runner: PluginRunner,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  async handle(task: ClaimedTask, signal: AbortSignal): Promise<HandlerOutcome> {
    let organizationSettings: Record<string, string>;
    try {
      organizationSettings = this.pluginSettings.open(task.organization_id, task.plugin_id ?? '', task.plugin_settings);
    } catch (error) {
      if (!(error instanceof SettingDecryptionError)) throw error;
      const reason = `plugin ${task.plugin_id} did not run: organization ${task.organization}'s ${error.message}`;
      return { status: TaskStatus.FAILED, error: reason, traceback: '' };
    }
    const mask = new SecretMask(Object.values(organizationSettings));
    let outcome: HandlerOutcome;
    try {
      outcome = await this.run(task, signal, organizationSettings, mask);
    } catch (error) {
      if (mask.empty || !(error instanceof Error)) throw error;
      const masked = new Error(mask.text(error.message));
      masked.stack = mask.text(error.stack ?? '');
      throw masked;
    }
    if (mask.empty) return outcome;
    const log = outcome.log && mask.log(outcome.log);
    if (outcome.status !== TaskStatus.FAILED) return { ...outcome, log };
    // The traceback is stderr's kept tail.
    const traceback = mask.tail(outcome.traceback, outcome.log?.stderr_truncated ?? false);
    return { ...outcome, error: mask.text(outcome.error), traceback, log };
  }

  private async run(
    task: ClaimedTask,
    signal: AbortSignal,
    organizationSettings: Record<string, string>,
    mask: SecretMask,
  ): Promise<HandlerOutcome> {
    const fail = (error: string, log?: RunLog): HandlerOutcome => ({
      status: TaskStatus.FAILED,
      error,
      traceback: log?.stderr ?? '',
      log,
    });
    const { plugin } = task;
    if (!plugin) return fail(`plugin ${task.plugin_id} does not exist (any more)`);
    if (!plugin.enabled) return fail(`plugin ${plugin.plugin_id} is disabled`);
    const input = await this.input(task, plugin);
    if ('error' in input) return fail(input.error);

    // The plugin's stdout lines become objects as they come; a bad line stops the plugin.
    const stop = new AbortController();
    signal.addEventListener('abort', () => stop.abort(signal.reason), { once: true });
    const raw = plugin.output === PluginOutput.raw;
    const producer = { task_id: task.id, plugin_id: plugin.plugin_id, input_object: String(task.data.input_data) };
    const ingester = raw
      ? null
      : new StdoutIngester(this.objects, task.organization_id, producer, () => stop.abort(BAD_OUTPUT));
    const spec = pluginRunSpec(task, plugin, this.settings, {
      token: await this.pluginTokens.sign(
        { task_id: task.id, attempt: task.attempts, organization_id: task.organization_id },
        plugin.timeout_seconds,
      ),
      input,
      organizationSettings,
      onStdoutLine: ingester?.line,
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
    await ingester?.finish();
    const failure = failureReason(result.outcome);
    if (failure) this.metrics.containerFailures.inc({ reason: failure });
    // A raw-output plugin's stdout is its file (kept below when it succeeds), not part of its log.
    const log: RunLog = {
      stdout: raw ? '' : result.stdout.text,
      stderr: result.stderr.text,
      stdout_truncated: !raw && result.stdout.truncated,
      stderr_truncated: result.stderr.truncated,
    };
    switch (result.outcome.kind) {
      case 'aborted':
        if (result.outcome.reason === BAD_OUTPUT)
          return fail(`plugin ${plugin.plugin_id} printed a bad object: ${ingester?.error}`, log);
        return { status: 'stopped', reason: result.outcome.reason, log };
      case 'timed_out':
        return fail(`plugin ${plugin.plugin_id} timed out after ${plugin.timeout_seconds} s and was killed`, log);
      case 'exited': {
        const { exitCode } = result.outcome;
        if (exitCode === 0)
          return raw ? this.keepOutput(task, plugin, result, log, mask) : { status: TaskStatus.COMPLETED, log };
        if (exitCode === 137)
          return fail(
            `plugin ${plugin.plugin_id} was killed (out of memory? its limit is ${plugin.memory_mb} MB)`,
            log,
          );
        const lastLine = lastNonEmptyLine(log.stderr);
        return fail(`plugin ${plugin.plugin_id} exited with code ${exitCode}${lastLine ? `: ${lastLine}` : ''}`, log);
      }
    }
  }

  /** The task's input as its plugin takes it: an object, or a raw-output task's file for a normalizer. */
  private async input(task: ClaimedTask, plugin: Plugin): Promise<RunInput | { error: string }> {
    const key = String(task.data.input_data);
    const rawPluginId = consumedFile(plugin.consumes);
    if (rawPluginId === null) {
      const parsed = parseObjectKey(key, plugin.consumes);
      if ('error' in parsed)
        return { error: `input_data ${key} is not valid for ${plugin.plugin_id}: ${parsed.error}` };
      const stored = task.input_objects.find((o) => o.object_type === parsed.objectType) ?? null;
      return { kind: 'object', ...parsed, stored };
    }
    const scope = { organizationId: task.organization_id };
    const [rawTask, info, rawPlugin] = UUID.test(key)
      ? await Promise.all([
          this.tasks.findById(key, scope),
          this.outputs.describe(key, scope),
          this.plugins.findByPluginId(rawPluginId),
        ])
      : [null, null, null];
    if (!rawTask || rawTask.data.plugin_id !== rawPluginId || !info || !rawPlugin)
      return { error: `input_data ${key} is not a task of ${rawPluginId} with an output file in ${task.organization}` };
    const scanned = String(rawTask.data.input_data);
    const parsed = parseObjectKey(scanned, rawPlugin.consumes);
    const inputObject =
      'error' in parsed
        ? { primary_key: scanned }
        : { object_type: parsed.objectType, primary_key: scanned, ...parsed.fields };
    return { kind: 'file', taskId: key, pluginId: rawPluginId, info, inputObject };
  }

  /** A raw-output plugin that succeeded: its stdout becomes the task's file, described in data.output. */
  private async keepOutput(
    task: ClaimedTask,
    plugin: Plugin,
    result: PluginRunResult,
    log: RunLog,
    mask: SecretMask,
  ): Promise<HandlerOutcome> {
    const output = {
      media_type: plugin.media_type ?? 'application/octet-stream',
      bytes: result.stdout.bytes,
      truncated: result.stdout.truncated,
    };
    // The organization's setting values are masked in the file as in the log (a tool may echo its API key).
    const content = mask.bytes(result.stdout.content, result.stdout.truncated);
    if (!(await this.outputs.save(task.id, task.attempts, { ...output, content })))
      return { status: 'stopped', reason: 'the task was cancelled or taken over before its output was kept', log };
    return { status: TaskStatus.COMPLETED, data: { output }, log };
  }
}

/** The container-failure reason a run's outcome counts as, if any. */
function failureReason(outcome: PluginRunResult['outcome']): string | null {
  if (outcome.kind === 'timed_out') return 'timeout';
  if (outcome.kind === 'aborted') return outcome.reason === BAD_OUTPUT ? 'bad_output' : null;
  if (outcome.exitCode === 0) return null;
  return outcome.exitCode === 137 ? 'oom_kill' : 'exit_code';
}

function lastNonEmptyLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
