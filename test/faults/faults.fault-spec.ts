import { ChildProcess } from 'node:child_process';
import { exited, spawnApp } from '../support/apps';
import { TestEnvironment, waitFor } from '../support/environment';
import { BUSYBOX_IMAGE } from '../support/plugins';
import { PrivateRedis } from '../support/private-redis';

/**
 * Faults while tasks flow, against the built apps as separate processes on real PostgreSQL,
 * Redis and the container engine. After each: every created task ended COMPLETED exactly once
 * (or FAILED with a reason), none is left RUNNING, and no object or ObjectTask is duplicated.
 */
describe('faults', () => {
  let environment: TestEnvironment;
  let redis: PrivateRedis;
  let port: number;
  let token: string;
  const apps: ChildProcess[] = [];
  const sql = (query: string, params?: unknown[]) => environment.withDataSource((db) => db.query(query, params));
  // Fast clocks: heartbeat 300 ms, stale after 3 s, reconcile every second.
  const env = (extra: Record<string, string> = {}) =>
    environment.processEnv({ REDIS_URL: redis.url, STALE_AFTER_SECONDS: '3', REQUEUE_AFTER_SECONDS: '1', SCHEDULER_POLL_MS: '200', PORT: String(port), ...extra });
  const start = (entry: 'api/main' | 'worker/main' | 'scheduler/main', extra?: Record<string, string>) => {
    const app = spawnApp(entry, env(extra));
    apps.push(app);
    return app;
  };
  const kill = async (app: ChildProcess) => {
    app.kill('SIGKILL');
    await exited(app);
  };
  const api = (path: string, body?: object) =>
    fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body && JSON.stringify(body),
    });
  const createTask = async (pluginId: string, name: string): Promise<string> => {
    const response = await api('/tasks/', { type: 'plugin', data: { plugin_id: pluginId, input_data: `internet|${name}` } });
    if (response.status !== 201) throw new Error(`${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  };

  /** Every task of `ids` ends; then the invariants hold. */
  async function allEndWell(ids: string[], timeoutMs = 120_000) {
    await waitFor(`${ids.length} tasks to end`, async () => {
      const [{ open }] = await sql(`SELECT count(*)::int AS open FROM task WHERE id = ANY($1) AND status IN ('PENDING', 'RUNNING')`, [ids]);
      return open === 0;
    }, timeoutMs);
    const rows = await sql(`SELECT status, data->>'error' AS error, count(*)::int AS n FROM task WHERE id = ANY($1) GROUP BY 1, 2`, [ids]);
    expect(rows).toEqual([{ status: 'COMPLETED', error: null, n: ids.length }]);
    // Each task printed one object: exactly one ObjectTask per task, and no object twice.
    const [{ records, tasks }] = await sql(`SELECT count(*)::int AS records, count(DISTINCT task_id)::int AS tasks FROM object_task WHERE task_id = ANY($1)`, [ids]);
    expect({ records, tasks }).toEqual({ records: ids.length, tasks: ids.length });
    const [{ duplicates }] = await sql(`SELECT count(*)::int AS duplicates FROM (SELECT primary_key FROM object GROUP BY organization_id, object_type, primary_key HAVING count(*) > 1) d`);
    expect(duplicates).toBe(0);
  }

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    redis = await PrivateRedis.start();
    port = 21000 + Math.floor(Math.random() * 20000);
    token = await environment.token('acme');
    await sql(`UPDATE scheduler_job SET cron = '* * * * * *' WHERE name = 'reconcile-tasks'`);
    await sql(`UPDATE scheduler_job SET enabled = false WHERE name <> 'reconcile-tasks'`);
    const plugin = (id: string, script: string, timeout = 30, memory = 64) => sql(
      `INSERT INTO plugin (plugin_id, name, image, command, consumes, timeout_seconds, memory_mb) VALUES ($1, $6, $2, $3, '{hostname}', $4, $5)`,
      [id, BUSYBOX_IMAGE, JSON.stringify(['sh', '-c', script]), timeout, memory, id]);
    await plugin('work', 'sleep 1; echo "{\\"object_type\\": \\"hostname\\", \\"network\\": \\"internet\\", \\"name\\": \\"found.{name}\\"}"');
    await plugin('hang', 'sleep 3600', 3);
    await plugin('flood', 'head -c 104857600 /dev/zero | tr "\\\\0" x', 120);
    await plugin('hog', 'x=$(head -c 268435456 /dev/zero | tr "\\\\0" x); echo done', 60, 32);
    start('api/main');
    await waitFor('the api', async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).ok, 30_000);
  });

  afterAll(async () => {
    for (const app of apps) app.kill('SIGKILL');
    await redis?.stop();
    await environment?.destroy();
  });

  it('loses nothing when workers and a scheduler are killed with SIGKILL mid-run, twice', async () => {
    const schedulers = [start('scheduler/main'), start('scheduler/main')];
    let worker = start('worker/main', { WORKER_CONCURRENCY: '4' });
    const steady = start('worker/main', { WORKER_CONCURRENCY: '4' });
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => createTask('work', `kill${i}.example`)));
    for (let round = 0; round < 2; round++) {
      // More running than the steady worker's 4 slots: the other worker surely holds some.
      await waitFor('both workers to run tasks', async () => (await sql(`SELECT count(*)::int AS n FROM task WHERE status = 'RUNNING'`))[0].n > 4, 30_000);
      await kill(worker);
      if (round === 0) await kill(schedulers[0]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      worker = start('worker/main', { WORKER_CONCURRENCY: '4' });
    }
    await allEndWell(ids);
    const [{ retried }] = await sql(`SELECT count(*)::int AS retried FROM task WHERE id = ANY($1) AND attempts > 1`, [ids]);
    expect(retried).toBeGreaterThan(0); // the kills did interrupt runs
    await kill(worker);
    await kill(steady);
    await kill(schedulers[1]);
  });

  it('loses nothing when Redis stops for 10 seconds while the API keeps creating tasks', async () => {
    start('scheduler/main');
    start('worker/main', { WORKER_CONCURRENCY: '4' });
    const ids: string[] = [];
    const creating = (async () => {
      for (let i = 0; i < 30; i++) {
        ids.push(await createTask('work', `redis${i}.example`));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await redis.start();
    await creating;
    expect(ids).toHaveLength(30);
    await allEndWell(ids, 180_000);
  });

  it('fails a plugin that never exits, floods stdout or outgrows its memory, for the right reason, and keeps the worker healthy', async () => {
    const cases: Array<[string, RegExp]> = [
      ['hang', /^plugin hang timed out after 3 s and was killed$/],
      ['flood', /^plugin flood printed a bad object: stdout line 1 is not JSON: "x{10,}/],
      ['hog', /^plugin hog was killed \(out of memory\? its limit is 32 MB\)$/],
    ];
    const ids = await Promise.all(cases.map(([plugin]) => createTask(plugin, `${plugin}.example`)));
    await waitFor('the bad plugins to end', async () => {
      const [{ open }] = await sql(`SELECT count(*)::int AS open FROM task WHERE id = ANY($1) AND status IN ('PENDING', 'RUNNING')`, [ids]);
      return open === 0;
    }, 180_000);
    for (const [i, [plugin, reason]] of cases.entries()) {
      const [task] = await sql(`SELECT status, data->>'error' AS error FROM task WHERE id = $1`, [ids[i]]);
      expect({ plugin, ...task }).toEqual({ plugin, status: 'FAILED', error: expect.stringMatching(reason) });
    }
    const [log] = await sql(`SELECT length(stdout) AS stored, stdout_truncated FROM task_log WHERE task_id = $1`, [ids[1]]);
    expect(log).toEqual({ stored: 65536, stdout_truncated: true });
    // The worker goes on: the next task is fine.
    const next = await createTask('work', 'after-faults.example');
    await allEndWell([next]);
  });
});
