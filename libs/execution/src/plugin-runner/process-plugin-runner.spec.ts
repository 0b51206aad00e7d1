import { loadSettings } from '@kat/domain';
import { PluginRunSpec } from './plugin-runner';
import { ProcessPluginRunner } from './process-plugin-runner';

/** The process runner (benchmarks only) keeps the runner contract: outcome, capture, lines, timeout, abort. */
describe('ProcessPluginRunner', () => {
  const runner = new ProcessPluginRunner(loadSettings({ LOG_CAP_BYTES: '1024' }));
  const spec = (script: string, extra: Partial<PluginRunSpec> = {}): PluginRunSpec => ({
    image: 'unused',
    command: ['sh', '-c', script],
    env: { KAT_INPUT: 'internet|example.com' },
    timeoutSeconds: 5,
    stdoutCapBytes: 1024,
    memoryMb: 64,
    capAdd: [],
    network: 'none',
    labels: {},
    ...extra,
  });

  it('reports the exit code, stdout lines as they come, and the stderr tail', async () => {
    const lines: string[] = [];
    const result = await runner.run(
      spec('echo one; echo "$KAT_INPUT"; echo oops >&2; exit 3', { onStdoutLine: (l) => lines.push(l) }),
      new AbortController().signal,
    );
    expect(result.outcome).toEqual({ kind: 'exited', exitCode: 3 });
    expect(lines).toEqual(['one', 'internet|example.com']);
    expect(result.stderr).toMatchObject({ text: 'oops\n', truncated: false, bytes: 5 });
  });

  it('kills a plugin at its timeout, and stops one when aborted', async () => {
    expect((await runner.run(spec('sleep 30', { timeoutSeconds: 1 }), new AbortController().signal)).outcome).toEqual({
      kind: 'timed_out',
    });
    const abort = new AbortController();
    setTimeout(() => abort.abort('worker shutting down'), 200);
    expect((await runner.run(spec('sleep 30'), abort.signal)).outcome).toEqual({
      kind: 'aborted',
      reason: 'worker shutting down',
    });
  });
});
