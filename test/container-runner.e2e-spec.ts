import { loadSettings } from '@kat/domain';
import { ContainerPluginRunner } from '@kat/execution/plugin-runner/container-plugin-runner';
import type { PluginRunResult, PluginRunSpec } from '@kat/execution/plugin-runner/plugin-runner';
import Docker from 'dockerode';
import { Readable } from 'node:stream';
import { containerSocket } from './support/container-engine';
import { pendingTimers } from './support/pending-timers';
import { BUSYBOX_IMAGE, ensurePluginImages } from './support/plugins';

/**
 * The container runner on the real engine: every stdout line reaches the ingester once, in
 * order, whether the captures come from the engine's log (the usual way) or, when the log cannot
 * be had or holds less than the attach delivered, from the attach stream.
 */
describe('the container runner', () => {
  const settings = loadSettings({ ...process.env, DOCKER_SOCKET: containerSocket(), DOCKER_HOST: '' });
  const LINES = 3000;

  /** A plugin printing LINES numbered lines at once, then one line of stderr; `lines` null: no ingester. */
  function spec(lines: string[] | null): PluginRunSpec {
    return {
      image: BUSYBOX_IMAGE,
      command: ['sh', '-c', `seq 1 ${LINES}; echo done >&2`],
      env: {},
      timeoutSeconds: 30,
      memoryMb: 32,
      capAdd: [],
      network: 'none',
      labels: {},
      onStdoutLine: lines ? (line) => lines.push(line) : undefined,
      stdoutCapBytes: 1 << 20,
    };
  }

  const numbered = Array.from({ length: LINES }, (_, i) => String(i + 1));

  /** Every line reached the ingester once and in order, and the captures hold all that was printed. */
  function expectWhole(result: PluginRunResult, lines: string[] | null): void {
    expect(result.outcome).toEqual({ kind: 'exited', exitCode: 0 });
    if (lines) expect(lines).toEqual(numbered);
    expect(result.stdout.text).toBe(numbered.join('\n') + '\n');
    expect(result.stderr.text).toBe('done\n');
  }

  /** A runner whose engine log is `log(the real one)`; `read` counts the log bytes it delivered. */
  function runnerWithLog(log: (real: () => Promise<NodeJS.ReadableStream>) => Promise<NodeJS.ReadableStream>) {
    const read = { bytes: 0 };
    class StandIn extends ContainerPluginRunner {
      protected override async logOf(container: Docker.Container): Promise<NodeJS.ReadableStream> {
        const stream = await log(() => super.logOf(container));
        stream.on('data', (chunk: Buffer) => (read.bytes += chunk.length));
        return stream;
      }
    }
    return { runner: new StandIn(settings), read };
  }

  /** The first half of the real log, then an error (the connection to the engine lost). */
  async function halfThenError(real: () => Promise<NodeJS.ReadableStream>): Promise<NodeJS.ReadableStream> {
    const chunks: Buffer[] = [];
    for await (const chunk of (await real()) as AsyncIterable<Buffer>) chunks.push(chunk);
    const whole = Buffer.concat(chunks);
    return new Readable({
      read() {
        this.push(whole.subarray(0, whole.length >> 1));
        this.destroy(new Error('connection reset'));
      },
    });
  }

  beforeAll(() => ensurePluginImages());

  it('takes the output from the engine log and gives each line to the ingester once', async () => {
    const lines: string[] = [];
    const { runner, read } = runnerWithLog((real) => real());
    const result = await runner.run(spec(lines), new AbortController().signal);
    expectWhole(result, lines);
    expect(read.bytes).toBeGreaterThan(LINES * 2); // the log was read through, with its frame headers
  });

  it.each([
    ['cannot be read', () => Promise.reject(new Error('no log driver'))],
    ['holds less than the attach delivered', () => Promise.resolve(Readable.from([]))],
    ['breaks off halfway', halfThenError],
  ])('falls back to the attach stream when the engine log %s', async (_case, log) => {
    const lines: string[] = [];
    const result = await runnerWithLog(log).runner.run(spec(lines), new AbortController().signal);
    expectWhole(result, lines);
  });

  it('keeps the attach stream when the log is short and no ingester counted bytes (raw output)', async () => {
    const { runner } = runnerWithLog(() => Promise.resolve(Readable.from([])));
    expectWhole(await runner.run(spec(null), new AbortController().signal), null);
  });

  it('leaves no timer of its own behind once the container exited', async () => {
    const run = () => new ContainerPluginRunner(settings).run(spec(null), new AbortController().signal);
    const ofTheRunner = (stack: string) => stack.includes('container-plugin-runner');
    expect(await pendingTimers(ofTheRunner, async () => expectWhole(await run(), null))).toBe(0);
  });
});
