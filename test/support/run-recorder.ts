import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** One start of a plugin, as the plugin itself reported it. */
export interface RecordedRun {
  task_id: string;
  attempt: number;
  startedAt: number;
  /** When the plugin reported it finished its work; undefined if it never did (killed, or still running). */
  endedAt?: number;
}

/**
 * Counts each real execution of a plugin, from inside the plugin: its script calls this HTTP
 * server when it starts and when it is done, with its KAT_API_TOKEN, whose payload names the task
 * and the attempt. So a test can prove a plugin ran at most once per attempt, and hold runs at
 * their start (`gate`) to create the overlap it wants to test. Plugins reach it with host networking.
 */
export class RunRecorder {
  readonly runs: RecordedRun[] = [];
  private gateOpen = true;
  private readonly waiting = new Set<() => void>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<RunRecorder> {
    const server = createServer();
    const recorder = new RunRecorder(server);
    server.on('request', (req, res) => recorder.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return recorder;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * A shell script that reports its start, runs `body`, and reports that it is done. It works in
   * the kat-busybox image and on the host (PLUGIN_RUNNER=process), where busybox is installed too.
   */
  script(body: string): string {
    const call = (what: string) => `busybox wget -q -O /dev/null "${this.url}/${what}/$KAT_API_TOKEN"`;
    return `${call('start')} && { ${body}; } && ${call('end')}`;
  }

  /** Runs that start from now on wait at their start until `open()`. */
  close(): void {
    this.gateOpen = false;
  }

  open(): void {
    this.gateOpen = true;
    for (const release of this.waiting) release();
    this.waiting.clear();
  }

  /** Runs that started and have not said they are done. */
  inFlight(): RecordedRun[] {
    return this.runs.filter((run) => run.endedAt === undefined);
  }

  runsOf(taskId: string): RecordedRun[] {
    return this.runs.filter((run) => run.task_id === taskId);
  }

  /**
   * The plugin of each task ran at most once per attempt, never under an attempt the task did not
   * reach, and the attempt that completed the task ran to its end. `tasks`: their rows as stored.
   */
  expectOncePerAttempt(tasks: Array<{ id: string; status: string; attempts: number }>): void {
    const problems: string[] = [];
    for (const task of tasks) {
      const runs = this.runsOf(task.id);
      const attempts = runs.map((run) => run.attempt);
      if (new Set(attempts).size !== attempts.length) problems.push(`${task.id} ran twice in one attempt: ${attempts}`);
      if (attempts.some((attempt) => attempt > task.attempts))
        problems.push(`${task.id} ran as attempt ${attempts} of ${task.attempts}`);
      const last = runs.find((run) => run.attempt === task.attempts);
      if (task.status === 'COMPLETED' && last?.endedAt === undefined)
        problems.push(`${task.id} completed without its last run ending`);
    }
    expect(problems).toEqual([]);
  }

  async stop(): Promise<void> {
    this.open();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const [, what, token] = (req.url ?? '').split('/');
    const claims = decodePluginToken(token ?? '');
    if (!claims || !['start', 'end'].includes(what)) {
      res.writeHead(400).end();
      return;
    }
    if (what === 'end') {
      const run = this.runs.find(
        (r) => r.task_id === claims.task_id && r.attempt === claims.attempt && r.endedAt === undefined,
      );
      if (run) run.endedAt = Date.now();
      res.end('ok');
      return;
    }
    this.runs.push({ task_id: claims.task_id, attempt: claims.attempt, startedAt: Date.now() });
    if (this.gateOpen) res.end('ok');
    else this.waiting.add(() => res.end('ok'));
  }
}

/** The payload of a plugin token (`katp_<base64url JSON>.<signature>`); the signature is the API's business. */
function decodePluginToken(token: string): { task_id: string; attempt: number } | null {
  try {
    const payload = token.replace(/^katp_/, '').split('.')[0];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims.task_id === 'string' && Number.isInteger(claims.attempt) ? claims : null;
  } catch {
    return null;
  }
}
