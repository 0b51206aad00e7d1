/** What it takes to run one plugin once. */
export interface PluginRunSpec {
  image: string;
  command: string[];
  env: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  capAdd: string[];
  network: string;
  /** Labels on the container, so an operator can tell which task it belongs to. */
  labels: Record<string, string>;
  /** Called with each line the plugin prints on stdout, as it prints it. */
  onStdoutLine?: (line: string) => void;
  /** Bytes of stdout kept (its head): the log's cap, or a raw-output plugin's file cap. */
  stdoutCapBytes: number;
}

/** A stream kept up to a byte cap: stdout keeps its head, stderr its tail (where errors are). */
export interface CapturedOutput {
  text: string;
  truncated: boolean;
  /** The kept bytes as printed (text is them decoded, without NUL). */
  content: Buffer;
  /** How many bytes were printed in all, kept or not. */
  bytes: number;
}

export type PluginRunOutcome =
  | { kind: 'exited'; exitCode: number }
  | { kind: 'timed_out' }
  /** Stopped on purpose: the task was cancelled, or the worker is shutting down. */
  | { kind: 'aborted'; reason: string };

export interface PluginRunResult {
  outcome: PluginRunOutcome;
  stdout: CapturedOutput;
  stderr: CapturedOutput;
  durationMs: number;
}

/** Runs a plugin to its end. Aborting the signal stops the plugin; the run then resolves as aborted. */
export interface PluginRunner {
  run(spec: PluginRunSpec, signal: AbortSignal): Promise<PluginRunResult>;
}

export const PLUGIN_RUNNER = Symbol('PLUGIN_RUNNER');

/** Labels on every plugin container: which deployment (queue prefix), task and attempt it runs. */
export const CONTAINER_LABELS = {
  deployment: 'kat.deployment',
  taskId: 'kat.task_id',
  attempt: 'kat.attempt',
} as const;

/** An error in starting the plugin (e.g. its image is missing), as opposed to the plugin failing. */
export class PluginStartError extends Error {}
