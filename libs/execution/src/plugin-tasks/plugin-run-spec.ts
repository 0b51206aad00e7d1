import { ClaimedTask, KatSettings, ParsedObjectKey, Plugin, StoredObject } from '@kat/domain';
import { CONTAINER_LABELS, PluginRunSpec } from '../plugin-runner/plugin-runner';

export interface RunContext {
  /** KAT_API_TOKEN: valid for this run only. */
  token: string;
  /** The stored input object, when the store has it (else its key fields stand in). */
  inputObject: StoredObject | null;
  /** The task's organization's own settings of the plugin, decrypted: they override the plugin's. */
  organizationSettings: Record<string, string>;
  onStdoutLine: (line: string) => void;
}

/**
 * The container a plugin task runs as: the contract's environment and `{field}` substitution.
 * KAT_SETTING_<NAME> comes from the plugin's settings, then its organization's own of that name.
 * The env holds secrets: it goes to the engine only, never into a log line.
 */
export function pluginRunSpec(
  task: ClaimedTask,
  plugin: Plugin,
  input: ParsedObjectKey,
  settings: KatSettings,
  context: RunContext,
): PluginRunSpec {
  const key = String(task.data.input_data);
  const values: Record<string, string> = { ...input.fields, input: key };
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
      KAT_INPUT_JSON: JSON.stringify(
        context.inputObject ?? { object_type: input.objectType, primary_key: key, ...input.fields },
      ),
      KAT_API_URL: settings.PLUGIN_API_URL,
      KAT_API_TOKEN: context.token,
    },
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
