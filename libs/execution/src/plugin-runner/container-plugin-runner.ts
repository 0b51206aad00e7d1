import { Inject, Injectable, Logger } from '@nestjs/common';
import { KAT_SETTINGS, KatSettings } from '@kat/domain';
import Docker from 'dockerode';
import { Duplex, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineSplitter, OutputCapture, SkipHead, Tee, Valve } from './output-capture';
import { CapturedOutput, PluginRunResult, PluginRunner, PluginRunSpec, PluginStartError } from './plugin-runner';

const PIDS_LIMIT = 256;
const NANO_CPUS = 1_000_000_000; // one CPU
const NOBODY = '65534:65534';

/** Connects to the engine named by DOCKER_HOST, or else by DOCKER_SOCKET (Docker or Podman's Docker API). */
export function dockerClient(settings: KatSettings): Docker {
  if (settings.DOCKER_HOST) {
    const url = new URL(settings.DOCKER_HOST);
    if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
    return new Docker({
      host: url.hostname,
      port: Number(url.port || 2375),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
    });
  }
  return new Docker({ socketPath: settings.DOCKER_SOCKET });
}

/**
 * Runs a plugin as a container through the Docker API: unprivileged, read-only, limited, killed
 * at its timeout, and removed whatever happens.
 */
@Injectable()
export class ContainerPluginRunner implements PluginRunner {
  private readonly logger = new Logger(ContainerPluginRunner.name);
  private readonly docker: Docker;

  constructor(@Inject(KAT_SETTINGS) private readonly settings: KatSettings) {
    this.docker = dockerClient(settings);
  }

  async run(spec: PluginRunSpec, signal: AbortSignal): Promise<PluginRunResult> {
    const started = Date.now();
    const stdout = new OutputCapture(spec.stdoutCapBytes, 'head');
    const stderr = new OutputCapture(this.settings.LOG_CAP_BYTES, 'tail');
    const container = await this.createContainer(spec);
    try {
      // Attach before start, or a short-lived plugin's output is lost. Wait for the next exit,
      // asked before start (Podman answers it at once, where its default wait polls slowly);
      // polling the state backs it up should the engine have seen the exit first.
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const quiet = quietWatcher(stream);
      const valve = spec.onStdoutLine ? new Valve(new LineSplitter(spec.onStdoutLine)) : null;
      this.docker.modem.demuxStream(stream, valve ? new Tee([stdout, valve]) : stdout, stderr);
      const nextExit = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
      await container.start();
      const polling = new AbortController();
      const exited = Promise.race([nextExit, pollExitCode(container, polling.signal)]).finally(() => polling.abort());

      let stopReason: 'timed_out' | string | null = null;
      const stop = async (reason: string) => {
        if (stopReason !== null) return;
        stopReason = reason;
        await container.kill({ signal: 'SIGKILL' }).catch(() => undefined); // already gone is fine
      };
      const timer = setTimeout(() => void stop('timed_out'), spec.timeoutSeconds * 1000);
      const onAbort = () => void stop(String(signal.reason ?? 'aborted'));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      let exitCode: number;
      try {
        exitCode = (await exited).StatusCode;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
      // The engine's log is whole once it reports the exit; what the attach delivers from here on
      // is held back, in case the log cannot be had and the attach's output is all there is.
      const log = await this.fromLog(container, spec, valve?.close() ?? 0, valve?.target ?? null);
      // A log with less stdout than the attach delivered is not whole (a log driver that lags).
      const logged = log.captures && log.captures.stdout.bytes >= stdout.bytes ? log.captures : null;
      if (!logged) {
        // The exit can be reported before the attach's last bytes arrive, and Podman never ends
        // the attach stream: wait until it has been quiet for a moment. The lines get the held
        // bytes the log did not already give them.
        await quiet.settled();
        valve?.release(log.sent);
      }
      (stream as Duplex).destroy(); // the hijacked HTTP connection of the attach
      if (valve) await new Promise<void>((resolve) => valve.target.end(resolve));
      const finalReason = stopReason as string | null;
      return {
        outcome:
          finalReason === null
            ? { kind: 'exited', exitCode }
            : finalReason === 'timed_out'
              ? { kind: 'timed_out' }
              : { kind: 'aborted', reason: finalReason },
        ...(logged ?? { stdout: stdout.result(), stderr: stderr.result() }),
        durationMs: Date.now() - started,
      };
    } finally {
      await container.remove({ force: true, v: true }).catch((error: Error) => {
        this.logger.error(`Could not remove container ${container.id}: ${error.message}`);
      });
    }
  }

  /**
   * The attach stream can lose its last bytes, or carry the engine's own error instead, when a
   * container exits (Podman's attach race, containers/podman#11446). The engine's log of the
   * exited container is whole (conmon drains the container's output into it before it records the
   * exit): the captures are taken from it, and stdout bytes past the `forwarded` ones the attach
   * already gave to `lines` go there now (`sent` counts them). Captures null if the engine keeps no
   * log or it is not read whole within LOG_READ_MS.
   */
  private async fromLog(
    container: Docker.Container,
    spec: PluginRunSpec,
    forwarded: number,
    lines: Writable | null,
  ): Promise<{ captures: { stdout: CapturedOutput; stderr: CapturedOutput } | null; sent: number }> {
    const stdout = new OutputCapture(spec.stdoutCapBytes, 'head');
    const stderr = new OutputCapture(this.settings.LOG_CAP_BYTES, 'tail');
    const missed = new SkipHead(forwarded, lines);
    const opened: NodeJS.ReadableStream[] = [];
    let over = false;
    const read = this.logOf(container).then((stream) => {
      opened.push(stream);
      if (over) return destroyed(stream); // too late: the wait below is over
      return new Promise<boolean>((resolve) => {
        this.docker.modem.demuxStream(stream, new Tee([stdout, missed]), stderr);
        stream.on('end', () => resolve(true));
        stream.on('error', () => resolve(false));
      });
    });
    // From the request on: an engine that never answers must not hold the run.
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), LOG_READ_MS).unref());
    try {
      const whole = await Promise.race([read, timeout]);
      return { captures: whole ? { stdout: stdout.result(), stderr: stderr.result() } : null, sent: missed.passed };
    } catch (error) {
      this.logger.warn(`Could not read the log of container ${container.id}: ${errorText(error)}`);
      return { captures: null, sent: missed.passed };
    } finally {
      over = true;
      opened.forEach(destroyed);
    }
  }

  /**
   * The log so far, streamed. Not `container.logs()`: it buffers the whole log in memory unless
   * asked to follow, and following an exited container costs Podman a quarter of a second.
   */
  protected logOf(container: Docker.Container): Promise<NodeJS.ReadableStream> {
    return new Promise((resolve, reject) =>
      this.docker.modem.dial(
        {
          path: `/containers/${container.id}/logs?`,
          method: 'GET',
          options: { stdout: true, stderr: true },
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        },
        (error, stream) => (error ? reject(error) : resolve(stream as NodeJS.ReadableStream)),
      ),
    );
  }

  private async createContainer(spec: PluginRunSpec): Promise<Docker.Container> {
    const options: Docker.ContainerCreateOptions = {
      Image: spec.image,
      Cmd: spec.command,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      User: NOBODY,
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: spec.network,
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        CapAdd: spec.capAdd,
        SecurityOpt: ['no-new-privileges'],
        Tmpfs: { '/tmp': 'rw,size=64m' },
        Memory: spec.memoryMb * 1024 * 1024,
        MemorySwap: spec.memoryMb * 1024 * 1024,
        PidsLimit: PIDS_LIMIT,
        NanoCpus: NANO_CPUS,
      },
    };
    try {
      return await this.docker.createContainer(options);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw new PluginStartError(errorText(error));
    }
    await this.pull(spec.image);
    try {
      return await this.docker.createContainer(options);
    } catch (error) {
      throw new PluginStartError(errorText(error));
    }
  }

  /** Images are pulled on first use, as `docker run` does; here a failed pull explains itself. */
  private async pull(image: string): Promise<void> {
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      throw new PluginStartError(
        `image ${image} is not on the container engine and could not be pulled: ${errorText(error)}`,
      );
    }
  }
}

function errorText(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(error)).split('\n')[0];
}

/** Ends a response stream of the engine, read or not; false, as a read that did not finish. */
function destroyed(stream: NodeJS.ReadableStream): false {
  (stream as unknown as Duplex).destroy?.();
  return false;
}

const EXIT_POLL_MS = 2000;
const LOG_READ_MS = 15_000;

/**
 * The exit code, by asking the engine every EXIT_POLL_MS until `stop`. Stopping cancels the sleep
 * under way: a timer left pending kept a process that ends without process.exit (a test run; the
 * apps call it) alive up to 2 s more.
 */
async function pollExitCode(container: Docker.Container, stop: AbortSignal): Promise<{ StatusCode: number }> {
  while (!stop.aborted) {
    const slept = await sleep(EXIT_POLL_MS, true, { signal: stop }).catch((error: unknown) => {
      if (stop.aborted) return false;
      throw error;
    });
    if (!slept) break;
    const state = (await container.inspect().catch(() => null))?.State;
    if (state && !state.Running && state.Status === 'exited') return { StatusCode: state.ExitCode };
  }
  return new Promise(() => undefined); // the other racer won
}

const QUIET_MS = 50;
const MAX_DRAIN_MS = 2000;

/** Tracks a stream's last data; `settled` resolves once it ended, or had no data for QUIET_MS since the call. */
function quietWatcher(stream: NodeJS.ReadableStream) {
  let lastData = Date.now();
  let ended = false;
  stream.on('data', () => (lastData = Date.now()));
  for (const event of ['end', 'close', 'error']) stream.on(event, () => (ended = true));
  return {
    async settled(): Promise<void> {
      const since = Date.now();
      while (!ended && Date.now() - Math.max(lastData, since) < QUIET_MS && Date.now() < since + MAX_DRAIN_MS) {
        await new Promise((resolve) => setTimeout(resolve, QUIET_MS / 2));
      }
    },
  };
}
