import { ClaimedTask, KatSettings, ParsedObjectKey, Plugin } from '@kat/domain';
import { CONTAINER_LABELS, PluginRunSpec } from '../plugin-runner/plugin-runner';

/** The container a plugin task runs as: the contract's environment and `{field}` substitution. */
export function pluginRunSpec(task: ClaimedTask, plugin: Plugin, input: ParsedObjectKey, settings: KatSettings): PluginRunSpec {
  const key = String(task.data.input_data);
  const values: Record<string, string> = { ...input.fields, input: key };
  const substitute = (arg: string) => arg.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
  const settingsEnv = Object.fromEntries(
    Object.entries(plugin.settings).map(([name, value]) => [`KAT_SETTING_${name.toUpperCase()}`, String(value)]),
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
      KAT_INPUT_JSON: JSON.stringify({ object_type: input.objectType, ...input.fields }),
      KAT_API_URL: settings.PLUGIN_API_URL,
    },
    timeoutSeconds: plugin.timeout_seconds,
    memoryMb: plugin.memory_mb,
    capAdd: plugin.cap_add,
    network: settings.PLUGIN_NETWORK,
    labels: {
      [CONTAINER_LABELS.deployment]: settings.QUEUE_PREFIX,
      [CONTAINER_LABELS.taskId]: task.id,
      [CONTAINER_LABELS.attempt]: String(task.attempts),
      'kat.plugin_id': plugin.plugin_id,
      'kat.organization': task.organization,
    },
  };
}
