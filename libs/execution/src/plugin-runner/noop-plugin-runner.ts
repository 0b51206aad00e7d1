import { Injectable } from '@nestjs/common';
import { PluginRunResult, PluginRunner } from './plugin-runner';

/**
 * Runs nothing: every plugin "exits 0" at once with no output, like the no-op plugin of the Celery
 * baseline the benchmarks compare with (docs/BENCHMARKS.md). Only for measuring the pipeline alone
 * (queue, state machine, database): PLUGIN_RUNNER=noop, `npm run bench -- lifecycle --pipeline`.
 */
const NOTHING = { text: '', truncated: false, content: Buffer.alloc(0), bytes: 0 };

@Injectable()
export class NoopPluginRunner implements PluginRunner {
  async run(): Promise<PluginRunResult> {
    return {
      outcome: { kind: 'exited', exitCode: 0 },
      stdout: NOTHING,
      stderr: NOTHING,
      durationMs: 0,
    };
  }
}
