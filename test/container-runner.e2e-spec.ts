import { loadSettings } from '@kat/domain';
import { ContainerPluginRunner } from '@kat/execution/plugin-runner/container-plugin-runner';
import type { PluginRunResult, PluginRunSpec } from '@kat/execution/plugin-runner/plugin-runner';
import { Readable } from 'node:stream';
import { containerSocket } from './support/container-engine';
import { BUSYBOX_IMAGE, ensurePluginImages } from './support/plugins';

/**
 * The container runner on the real engine: every stdout line reaches the ingester once, in
 * order, whether the captures come from the engine's log (the usual way) or, when the log cannot
 * be had or holds less than the attach delivered, from the attach stream.
 */
describe('the container runner', () => {
  const settings = loadSettings({ ...process.env, DOCKER_SOCKET: containerSocket(), DOCKER_HOST: '' });
  const LINES = 3000;

  /** A plugin printing LINES numbered lines at once, then one line of stderr. */
  function spec(lines: string[]): PluginRunSpec {
    return {
      image: BUSYBOX_IMAGE,
      command: ['sh', '-c', `seq 1 ${LINES}; echo done >&2`],
      env: {},
      timeoutSeconds: 30,
      memoryMb: 32,
      capAdd: [],
      network: 'none',
      labels: {},
      onStdoutLine: (line) => lines.push(line),
      stdoutCapBytes: 1 << 20,
    };
  }

  const numbered = Array.from({ length: LINES }, (_, i) => String(i + 1));

  /** Every line reached the ingester once and in order, and the captures hold all that was printed. */
  function expectWhole(result: PluginRunResult, lines: string[]): void {
    expect(result.outcome).toEqual({ kind: 'exited', exitCode: 0 });
    expect(lines).toEqual(numbered);
    expect(result.stdout.text).toBe(numbered.join('\n') + '\n');
    expect(result.stderr.text).toBe('done\n');
  }

  beforeAll(() => ensurePluginImages());

  it('takes the output from the engine log and gives each line to the ingester once', async () => {
    const lines: string[] = [];
    const result = await new ContainerPluginRunner(settings).run(spec(lines), new AbortController().signal);
    expectWhole(result, lines);
  });

  it.each([
    ['cannot be read', () => Promise.reject(new Error('no log driver'))],
    ['holds less than the attach delivered', () => Promise.resolve(Readable.from([]))],
  ])('falls back to the attach stream when the engine log %s', async (_case, log) => {
    class RunnerWithoutLog extends ContainerPluginRunner {
      protected override logOf(): Promise<NodeJS.ReadableStream> {
        return log();
      }
    }
    const lines: string[] = [];
    const result = await new RunnerWithoutLog(settings).run(spec(lines), new AbortController().signal);
    expectWhole(result, lines);
  });
});
