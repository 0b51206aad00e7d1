import { ChildProcess } from 'node:child_process';
import { exited, spawnApp } from '../support/apps';
import { TestEnvironment, waitFor } from '../support/environment';
import { BUSYBOX_IMAGE } from '../support/plugins';
import { PrivateRedis } from '../support/private-redis';

type Entry = 'api/main' | 'worker/main' | 'scheduler/main';

/**
 * The built apps as separate processes on a private database, queue prefix and Redis, with fast
 * clocks (heartbeat 300 ms, stale after 3 s, reconcile every second), and the invariants every
 * fault test checks.
 */
export class FaultHarness {
  readonly apps: ChildProcess[] = [];
  private token = '';
  readonly port = 21000 + Math.floor(Math.random() * 20000);

  private constructor(
    readonly environment: TestEnvironment,
    readonly redis: PrivateRedis,
  ) {}

  /** Migrated database (on `adminUrl`'s server), private Redis, plugins, and the api running. */
  static async start(adminUrl?: string): Promise<FaultHarness> {
    const harness = new FaultHarness(await TestEnvironment.create(adminUrl), await PrivateRedis.start());
    harness.token = await harness.environment.token('acme');
    await harness.sql(`UPDATE scheduler_job SET cron = '* * * * * *' WHERE name = 'reconcile-tasks'`);
    await harness.sql(`UPDATE scheduler_job SET enabled = false WHERE name <> 'reconcile-tasks'`);
    await harness.plugin('work', 'sleep 1; echo "{\\"object_type\\": \\"hostname\\", \\"network\\": \\"internet\\", \\"name\\": \\"found.{name}\\"}"');
    harness.start('api/main');
    await waitFor('the api', async () => (await fetch(`http://127.0.0.1:${harness.port}/health/ready`)).ok, 30_000);
    return harness;
  }

  sql(query: string, params?: unknown[]): Promise<any[]> {
    return this.environment.withDataSource((db) => db.query(query, params));
  }

  plugin(id: string, script: string, timeoutSeconds = 30, memoryMb = 64): Promise<unknown> {
    return this.sql(
      `INSERT INTO plugin (plugin_id, name, image, command, consumes, timeout_seconds, memory_mb) VALUES ($1, $6, $2, $3, '{hostname}', $4, $5)`,
      [id, BUSYBOX_IMAGE, JSON.stringify(['sh', '-c', script]), timeoutSeconds, memoryMb, id],
    );
  }

  start(entry: Entry, extra: Record<string, string> = {}): ChildProcess {
    const app = spawnApp(entry, this.environment.processEnv({
      REDIS_URL: this.redis.url, STALE_AFTER_SECONDS: '3', REQUEUE_AFTER_SECONDS: '1', SCHEDULER_POLL_MS: '200', PORT: String(this.port), ...extra,
    }));
    this.apps.push(app);
    return app;
  }

  async kill(app: ChildProcess): Promise<void> {
    app.kill('SIGKILL');
    await exited(app);
  }

  async createTask(pluginId: string, name: string): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.port}/api/v1/tasks/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'plugin', data: { plugin_id: pluginId, input_data: `internet|${name}` } }),
    });
    if (response.status !== 201) throw new Error(`${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  /** Waits until none of `ids` is PENDING or RUNNING. */
  async allEnded(ids: string[], timeoutMs = 120_000): Promise<void> {
    await waitFor(`${ids.length} tasks to end`, async () => {
      const [{ open }] = await this.sql(`SELECT count(*)::int AS open FROM task WHERE id = ANY($1) AND status IN ('PENDING', 'RUNNING')`, [ids]);
      return open === 0;
    }, timeoutMs);
  }

  /** Every task of `ids` ended COMPLETED; one ObjectTask each (each printed one object); no object twice. */
  async allEndWell(ids: string[], timeoutMs?: number): Promise<void> {
    await this.allEnded(ids, timeoutMs);
    const rows = await this.sql(`SELECT status, data->>'error' AS error, count(*)::int AS n FROM task WHERE id = ANY($1) GROUP BY 1, 2`, [ids]);
    expect(rows).toEqual([{ status: 'COMPLETED', error: null, n: ids.length }]);
    const [{ records, tasks }] = await this.sql(`SELECT count(*)::int AS records, count(DISTINCT task_id)::int AS tasks FROM object_task WHERE task_id = ANY($1)`, [ids]);
    expect({ records, tasks }).toEqual({ records: ids.length, tasks: ids.length });
    const [{ duplicates }] = await this.sql(`SELECT count(*)::int AS duplicates FROM (SELECT 1 FROM object GROUP BY organization_id, object_type, primary_key HAVING count(*) > 1) d`);
    expect(duplicates).toBe(0);
  }

  async stop(): Promise<void> {
    for (const app of this.apps) app.kill('SIGKILL');
    await Promise.all(this.apps.map(exited));
    await this.redis.stop();
    await this.environment.destroy();
  }
}
