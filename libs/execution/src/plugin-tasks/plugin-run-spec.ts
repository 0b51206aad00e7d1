import { ClaimedTask, KatSettings, Plugin, PluginOutput, StoredObject, TaskOutputInfo } from '@kat/domain';
import { CONTAINER_LABELS, PluginRunSpec } from '../plugin-runner/plugin-runner';

/** What a plugin task's input is: an object by its key fields, or (for a normalizer) another task's output file. */
export type RunInput =
  | { kind: 'object'; objectType: string; fields: Record<string, string>; stored: StoredObject | null }
  | { kind: 'file'; taskId: string; pluginId: string; info: TaskOutputInfo; inputObject: unknown };

export interface RunContext {
  /** KAT_API_TOKEN: valid for this run only. */
  token: string;
  input: RunInput;
  /** The task's organization's own settings of the plugin, decrypted: they override the plugin's. */
  organizationSettings: Record<string, string>;
  /** Absent for a raw-output plugin: its stdout is a file, not lines of objects. */
  onStdoutLine?: (line: string) => void;
}

/**
 * The container a plugin task runs as: the contract's environment and `{field}` substitution.
 * KAT_SETTING_<NAME> comes from the plugin's settings, then its organization's own of that name.
 * The env holds secrets: it goes to the engine only, never into a log line.
 */
export function pluginRunSpec(
  task: ClaimedTask,
  plugin: Plugin,
  settings: KatSettings,
  context: RunContext,
): PluginRunSpec {
  const key = String(task.data.input_data);
  const { input } = context;
  const values: Record<string, string> = {
    ...(input.kind === 'object' ? input.fields : { task_id: input.taskId }),
    input: key,
  };
  const substitute = (arg: string) => arg.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
  const settingsEnv = Object.fromEntries(
    [...Object.entries(plugin.settings), ...Object.entries(context.organizationSettings)].map(([name, value]) => [
      `KAT_SETTING_${name.toUpperCase()}`,
      String(value),
    ]),
  );
  return {
    image: plugin.image,
    command: plugin.command.map(substitute),
    env: {
      ...settingsEnv,
      KAT_TASK_ID: task.id,
      KAT_PLUGIN_ID: plugin.plugin_id,
      KAT_ORGANIZATION: task.organization,
      KAT_INPUT: key,
      KAT_INPUT_JSON: JSON.stringify(inputJson(input, key)),
      KAT_API_URL: settings.PLUGIN_API_URL,
      KAT_API_TOKEN: context.token,
      // A normalizer reads its file here with its token, which may read exactly that file.
      ...(input.kind === 'file' && { KAT_RAW_URL: `${settings.PLUGIN_API_URL}/tasks/${input.taskId}/output/` }),
    },
    stdoutCapBytes: plugin.output === PluginOutput.raw ? settings.RAW_OUTPUT_CAP_BYTES : settings.LOG_CAP_BYTES,
    timeoutSeconds: plugin.timeout_seconds,
    memoryMb: plugin.memory_mb,
    capAdd: plugin.cap_add,
    network: settings.PLUGIN_NETWORK,
    onStdoutLine: context.onStdoutLine,
    labels: {
      [CONTAINER_LABELS.deployment]: settings.QUEUE_PREFIX,
      [CONTAINER_LABELS.taskId]: task.id,
      [CONTAINER_LABELS.attempt]: String(task.attempts),
      'kat.plugin_id': plugin.plugin_id,
      'kat.organization': task.organization,
    },
  };
}

/** KAT_INPUT_JSON: the stored object (else its key fields), or the file described, with the object its task scanned. */
function inputJson(input: RunInput, key: string): unknown {
  if (input.kind === 'object')
    return input.stored ?? { object_type: input.objectType, primary_key: key, ...input.fields };
  return {
    object_type: 'file',
    task_id: input.taskId,
    plugin_id: input.pluginId,
    ...input.info,
    input_object: input.inputObject,
  };
}
