import { Inject, Injectable } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings } from '@kat/domain';
import { spawn } from 'node:child_process';
import { LineSplitter, OutputCapture, Tee } from './output-capture';
import { PluginRunResult, PluginRunner, PluginRunSpec, PluginStartError } from './plugin-runner';

/**
 * Runs the plugin's command as a child process of the worker, without a container: no isolation
 * and no limits but the timeout. Only for measuring the pipeline without the container engine's
 * cost (PLUGIN_RUNNER=process, `npm run bench -- lifecycle --pipeline`) and for development;
 * never for plugins you do not trust.
 */
@Injectable()
export class ProcessPluginRunner implements PluginRunner {
  constructor(@Inject(KAT_SETTINGS) private readonly settings: KatSettings) {}

  run(spec: PluginRunSpec, signal: AbortSignal): Promise<PluginRunResult> {
    const started = Date.now();
    const stdout = new OutputCapture(spec.stdoutCapBytes, 'head');
    const stderr = new OutputCapture(this.settings.LOG_CAP_BYTES, 'tail');
    const lines = spec.onStdoutLine ? new LineSplitter(spec.onStdoutLine) : null;
    return new Promise((resolve, reject) => {
      // Its own process group, so a stop kills what the command started too (`sh -c 'sleep 30'`
      // would otherwise leave `sleep` holding stdout open, and the run would end only with it).
      const child = spawn(spec.command[0], spec.command.slice(1), {
        env: { PATH: process.env.PATH, ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stopReason: string | null = null;
      const stop = (reason: string) => {
        stopReason ??= reason;
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          child.kill('SIGKILL'); // the group is gone already
        }
      };
      const timer = setTimeout(() => stop('timed_out'), spec.timeoutSeconds * 1000);
      const onAbort = () => stop(String(signal.reason ?? 'aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.pipe(lines ? new Tee([stdout, lines]) : stdout);
      child.stderr.pipe(stderr);
      child.once('error', (error) => reject(new PluginStartError(error.message)));
      child.once('close', async (code) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (lines) await new Promise<void>((done) => lines.end(done));
        const reason = stopReason as string | null;
        resolve({
          outcome:
            reason === null
              ? { kind: 'exited', exitCode: code ?? 137 }
              : reason === 'timed_out'
                ? { kind: 'timed_out' }
                : { kind: 'aborted', reason },
          stdout: stdout.result(),
          stderr: stderr.result(),
          durationMs: Date.now() - started,
        });
      });
    });
  }
}
