import { ChildProcess } from 'node:child_process';
import { exited, spawnApp } from '../support/apps';
import { TestEnvironment, waitFor } from '../support/environment';
import { BUSYBOX_IMAGE } from '../support/plugins';
import { freePort } from '../support/free-port';
import { PrivateRedis } from '../support/private-redis';
import { RunRecorder } from '../support/run-recorder';

type Entry = 'api/main' | 'worker/main' | 'scheduler/main';

/** What the `work` plugin prints: one hostname, found.<input name> (what allEndWell expects of every task). */
export const FOUND_FOR_NAME = '{"object_type": "hostname", "network": "internet", "name": "found.{name}"}';
/** The apps' default MAX_ATTEMPTS: claims of one task before it is failed. */
const MAX_ATTEMPTS = 3;

/**
 * The built apps as separate processes on a private database, queue prefix and Redis, with fast
 * clocks (heartbeat 300 ms, stale after 3 s, reconcile every second), and the invariants every
 * fault test checks. The `work` plugin reports each of its runs to a RunRecorder, so the checks
 * count real executions, not only rows.
 */
export class FaultHarness {
  readonly apps: Array<ReturnType<typeof spawnApp>> = [];
  private token = '';
  private constructor(
    readonly environment: TestEnvironment,
    readonly redis: PrivateRedis,
    readonly recorder: RunRecorder,
    /** The api's (freePort: below the ports outgoing connections use). */
    readonly port: number,
  ) {}

  /** Migrated database (on `adminUrl`'s server), private Redis, plugins, and the api running. */
  static async start(adminUrl?: string): Promise<FaultHarness> {
    const harness = new FaultHarness(
      await TestEnvironment.create(adminUrl),
      await PrivateRedis.start(),
      await RunRecorder.start(),
      await freePort(),
    );
    harness.token = await harness.environment.token('acme');
    await harness.sql(`UPDATE scheduler_job SET cron = '* * * * * *' WHERE name = 'reconcile-tasks'`);
    await harness.sql(`UPDATE scheduler_job SET enabled = false WHERE name <> 'reconcile-tasks'`);
    await harness.plugin('work', harness.recorder.script(`sleep 1; echo '${FOUND_FOR_NAME}'`));
    harness.start('api/main');
    try {
      await waitFor('the api', async () => (await fetch(`http://127.0.0.1:${harness.port}/health/ready`)).ok, 30_000);
    } catch (error) {
      harness.explain(error);
    }
    return harness;
  }

  sql(query: string, params?: unknown[]): Promise<any[]> {
    return this.environment.withDataSource((db) => db.query(query, params));
  }

  plugin(id: string, script: string, timeoutSeconds = 30, memoryMb = 64, rateLimit?: object): Promise<unknown> {
    return this.sql(
      `INSERT INTO plugin (plugin_id, name, image, command, consumes, timeout_seconds, memory_mb, rate_limit)
       VALUES ($1, $6, $2, $3, '{hostname}', $4, $5, $7)`,
      [id, BUSYBOX_IMAGE, JSON.stringify(['sh', '-c', script]), timeoutSeconds, memoryMb, id, rateLimit ?? null],
    );
  }

  start(entry: Entry, extra: Record<string, string> = {}): ReturnType<typeof spawnApp> {
    const app = spawnApp(
      entry,
      this.environment.processEnv({
        REDIS_URL: this.redis.url,
        STALE_AFTER_SECONDS: '3',
        REQUEUE_AFTER_SECONDS: '1',
        SCHEDULER_POLL_MS: '200',
        PORT: String(this.port),
        PLUGIN_NETWORK: 'host', // so plugins reach the run recorder on 127.0.0.1
        LOG_LEVEL: process.env.TEST_LOGS ? 'log' : 'warn', // a failure shows the apps' warnings (allEndWell)
        ...extra,
      }),
    );
    this.apps.push(app);
    return app;
  }

  async kill(app: ChildProcess): Promise<void> {
    app.kill('SIGKILL');
    await exited(app);
  }

  async createTask(pluginId: string, name: string, priority?: number): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.port}/api/v1/tasks/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        type: 'plugin',
        data: { plugin_id: pluginId, input_data: `internet|${name}` },
        ...(priority && { priority }),
      }),
    });
    if (response.status !== 201) throw new Error(`${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  /** Waits until none of `ids` is PENDING or RUNNING. */
  async allEnded(ids: string[], timeoutMs = 120_000): Promise<void> {
    await waitFor(
      `${ids.length} tasks to end`,
      async () => {
        const [{ open }] = await this.sql(
          `SELECT count(*)::int AS open FROM task WHERE id = ANY($1) AND status IN ('PENDING', 'RUNNING')`,
          [ids],
        );
        return open === 0;
      },
      timeoutMs,
    );
  }

  /**
   * Every task of `ids` ended COMPLETED, its plugin ran at most once per attempt (as the plugin
   * itself reported), within the attempts allowed, and its one output has exactly one ObjectTask.
   */
  async allEndWell(ids: string[], timeoutMs?: number): Promise<void> {
    try {
      await this.allEnded(ids, timeoutMs);
      await this.expectAllWell(ids);
    } catch (error) {
      this.explain(error);
    }
  }

  /** Rethrows `error` with the apps' own account (warnings and errors): what explains a failure seen only in CI. */
  private explain(error: unknown): never {
    const tails = this.apps.map((app, i) => `--- app ${i} (pid ${app.pid}):\n${app.output().slice(-4000)}`);
    (error as Error).message += `\n\nThe apps' last output:\n${tails.join('\n')}`;
    throw error;
  }

  private async expectAllWell(ids: string[]): Promise<void> {
    const tasks: Array<{ id: string; status: string; error: string | null; attempts: number }> = await this.sql(
      `SELECT id, status, data->>'error' AS error, attempts FROM task WHERE id = ANY($1)`,
      [ids],
    );
    expect(tasks.filter((t) => t.status !== 'COMPLETED' || t.error !== null)).toEqual([]);
    expect(tasks).toHaveLength(ids.length);
    expect(Math.max(...tasks.map((t) => t.attempts))).toBeLessThanOrEqual(MAX_ATTEMPTS);
    this.recorder.expectOncePerAttempt(tasks);
    const outputs = await this.sql(
      `SELECT t.id, t.input_object, array_agg(ot.output_object) AS outputs
       FROM task t LEFT JOIN object_task ot ON ot.task_id = t.id WHERE t.id = ANY($1) GROUP BY t.id`,
      [ids],
    );
    const wrong = outputs.filter(
      (t) => JSON.stringify(t.outputs) !== JSON.stringify([`internet|found.${t.input_object.split('|')[1]}`]),
    );
    expect(wrong).toEqual([]);
  }

  /** Waits until at least `atLeast` tasks are RUNNING (claimed by a worker, whether or not its plugin started yet). */
  async running(atLeast: number): Promise<void> {
    await waitFor(
      `${atLeast} tasks to run`,
      async () => (await this.sql(`SELECT count(*)::int AS n FROM task WHERE status = 'RUNNING'`))[0].n >= atLeast,
      60_000,
    );
  }

  /**
   * Proof that a fault hits work in flight: waits until at least `atLeast` runs are under way (the
   * plugins said they started and not yet that they are done), and returns the RUNNING tasks.
   */
  async inFlight(atLeast = 1): Promise<string[]> {
    return waitFor(
      `${atLeast} plugin runs in flight`,
      async () => {
        const running: Array<{ id: string; attempts: number }> = await this.sql(
          `SELECT id, attempts FROM task WHERE status = 'RUNNING'`,
        );
        const inFlight = running.filter((t) =>
          this.recorder.inFlight().some((run) => run.task_id === t.id && run.attempt === t.attempts),
        );
        return inFlight.length >= atLeast && inFlight.map((t) => t.id);
      },
      60_000,
    );
  }

  /** Kills every app but the api: what a test started, even if it failed half-way. */
  async stopWorkersAndSchedulers(): Promise<void> {
    const others = this.apps.splice(1);
    for (const app of others) app.kill('SIGKILL');
    await Promise.all(others.map(exited));
  }

  async stop(): Promise<void> {
    for (const app of this.apps) app.kill('SIGKILL');
    await Promise.all(this.apps.map(exited));
    await this.redis.stop();
    await this.recorder.stop();
    await this.environment.destroy();
  }
}
