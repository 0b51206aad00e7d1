import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { registerShellPlugin } from './support/plugins';

interface Timing {
  id: string;
  organization: string;
  priority: number;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
}

/**
 * Fair and polite dispatch on real PostgreSQL and Redis: the order in which waiting plugin tasks
 * start (priority, then organizations taking turns, then age), rate limits per key shared by every
 * worker and organization, and retries with back-off. Orders and limits are judged from the rows'
 * own `started_at` and `ended_at`. Most workers here run plugins as processes (PLUGIN_RUNNER=process):
 * what is tested is what starts when, not the container (the rate limit across two workers runs
 * real containers too).
 */
describe('fair and polite dispatch', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let admin: ApiClient;
  let acme: ApiClient;
  let globex: ApiClient;
  let workers: INestApplicationContext[] = [];

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    admin = client(api, await environment.token('acme', { admin: true }));
    acme = client(api, await environment.token('acme'));
    globex = client(api, await environment.token('globex'));
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
    // What a test left waiting must not run in the next one.
    await environment.withDataSource((db) =>
      db.query(`UPDATE task SET status = 'CANCELLED', ended_at = now() WHERE status IN ('PENDING', 'RUNNING')`),
    );
  });

  afterAll(async () => {
    await api?.close();
    await environment?.destroy();
  });

  const startWorkers = async (count: number, settings: Record<string, string> = {}) => {
    for (let i = 0; i < count; i++)
      workers.push(await startWorker(environment.settings({ PLUGIN_RUNNER: 'process', ...settings })));
  };

  /** A plugin run as a local process (`sh -c script`) under the process runner. */
  const processPlugin = async (pluginId: string, script: string, extra: object = {}) => {
    const response = await admin.post('/plugins/', {
      plugin_id: pluginId,
      name: pluginId,
      image: 'unused-by-the-process-runner',
      command: ['sh', '-c', script],
      consumes: ['hostname'],
      timeout_seconds: 30,
      ...extra,
    });
    expect(response.status).toBe(201);
  };

  const hostnames = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `internet|${prefix}-${i}.example.com`);

  const bulk = async (as: ApiClient, pluginId: string, inputs: string[], priority?: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let start = 0; start < inputs.length; start += 1000) {
      const tasks = inputs.slice(start, start + 1000).map((input_data) => ({ plugin_id: pluginId, input_data }));
      const response = await as.post('/tasks/bulk/', { tasks, ...(priority && { priority }) });
      expect(response.status).toBe(201);
      ids.push(...response.body.results.map((t: { id: string }) => t.id));
    }
    return ids;
  };

  const create = async (as: ApiClient, pluginId: string, input: string, priority?: number) => {
    const response = await as.post('/tasks/', {
      type: 'plugin',
      data: { plugin_id: pluginId, input_data: input },
      ...(priority && { priority }),
    });
    expect(response.status).toBe(201);
    return response.body as { id: string; priority: number; waiting_for: string };
  };

  const timings = (ids: string[]): Promise<Timing[]> =>
    environment.withDataSource((db) =>
      db.query(
        `SELECT t.id, o.code AS organization, t.priority, t.created_at, t.started_at, t.ended_at
         FROM task t JOIN organization o ON o.id = t.organization_id WHERE t.id = ANY($1) ORDER BY t.started_at, t.id`,
        [ids],
      ),
    );

  const ended = (as: ApiClient, id: string, timeoutMs = 30_000) =>
    waitFor(
      `task ${id} to end`,
      async () => {
        const { body } = await as.get(`/tasks/${id}/`);
        return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(body.status) && body;
      },
      timeoutMs,
    );

  const allEnded = (ids: string[], timeoutMs = 60_000) =>
    waitFor(
      `${ids.length} tasks to end`,
      async () => (await timings(ids)).every((t) => t.ended_at !== null),
      timeoutMs,
    );

  describe('order', () => {
    it("starts another organization's task within one slot of a 2,000-task backlog", async () => {
      await processPlugin('sweep', 'sleep 0.05');
      await startWorkers(1, { WORKER_CONCURRENCY: '2' });
      const backlog = await bulk(acme, 'sweep', hostnames('sweep', 2000));
      await waitFor('the backlog to be running', async () => (await timings(backlog)).some((t) => t.started_at));

      const single = await create(globex, 'sweep', 'internet|single.example.com');
      const [mine] = await timings([(await ended(globex, single.id)).id]);
      const acmeTimings = await timings(backlog);
      // What may go first: the jobs already on the queue when it arrived, one per slot (TASKS_PER_SLOT 2 × 2 slots
      // − 2 running), and what an admission round whose snapshot predates its commit admits for the slots that came
      // free meanwhile (at most one per slot): one slot's worth of the queue, 4, where FIFO would start 2,000.
      const passedIt = acmeTimings.filter(
        (t) => t.started_at && t.started_at > mine.created_at! && t.started_at < mine.started_at!,
      );
      expect(passedIt.length).toBeLessThanOrEqual(4);
      // FIFO would have started the whole backlog first: most of it was still waiting.
      expect(acmeTimings.filter((t) => !t.started_at || t.started_at > mine.started_at!).length).toBeGreaterThan(1500);
    });

    it('takes turns between organizations of equal priority, oldest first within each', async () => {
      await processPlugin('turns', 'sleep 0.05');
      // Created one by one before any worker runs: acme's ten are all older than globex's ten.
      const acmeIds: string[] = [];
      for (const input of hostnames('turns-acme', 10)) acmeIds.push((await create(acme, 'turns', input)).id);
      const globexIds: string[] = [];
      for (const input of hostnames('turns-globex', 10)) globexIds.push((await create(globex, 'turns', input)).id);
      await startWorkers(1, { WORKER_CONCURRENCY: '1', TASKS_PER_SLOT: '1' });
      await allEnded([...acmeIds, ...globexIds]);
      const order = (await timings([...acmeIds, ...globexIds])).map((t) => t.organization);
      // One slot, one task admitted at a time: the organizations alternate.
      for (let i = 1; i < order.length; i++) expect(order[i]).not.toBe(order[i - 1]);
      const acmeOrder = (await timings(acmeIds)).map((t) => t.id);
      expect(acmeOrder).toEqual(acmeIds);
    });

    it('starts a higher priority first, however much older the lower-priority tasks are', async () => {
      await processPlugin('ranked', 'sleep 0.05');
      const sweep = await bulk(acme, 'ranked', hostnames('ranked-sweep', 30), 7);
      const urgent = await create(acme, 'ranked', 'internet|urgent.example.com');
      expect(urgent).toMatchObject({ priority: 3, waiting_for: 'turn' });
      expect((await acme.get('/tasks/?priority=7&limit=100')).body.count).toBe(30);
      const metrics = (await request(api.getHttpServer()).get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/^kat_tasks_waiting\{priority="7"\} 30$/m);
      expect(metrics).toMatch(/^kat_tasks_waiting\{priority="3"\} 1$/m);
      await startWorkers(1, { WORKER_CONCURRENCY: '1', TASKS_PER_SLOT: '1' });
      await allEnded([...sweep, urgent.id]);
      const order = (await timings([...sweep, urgent.id])).map((t) => t.id);
      expect(order[0]).toBe(urgent.id);
    });

    it('gives a schedule its own priority, and each origin its default', async () => {
      await processPlugin('origins', 'true');
      const defaults = await bulk(acme, 'origins', ['internet|origins-bulk.example.com']);
      expect((await acme.get(`/tasks/${defaults[0]}/`)).body.priority).toBe(5);
      const set = (
        await acme
          .post('/object-sets/', { name: 'origins', object_type: 'hostname', query: null, object_ids: [] })
          .expect(201)
      ).body;
      const schedule = (
        await acme
          .post('/schedules/', { plugin_id: 'origins', object_set_id: set.id, interval: 'P1D', priority: 2 })
          .expect(201)
      ).body;
      expect(schedule.priority).toBe(2);
      expect((await acme.patch(`/schedules/${schedule.id}/`, { priority: null }).expect(200)).body.priority).toBeNull();
      for (const bad of [0, 10, 2.5, '3'])
        expect((await acme.post('/tasks/bulk/', { tasks: [], priority: bad })).body.message).toContain(
          'priority must be an integer from 1 to 9',
        );
      expect((await acme.get('/tasks/?priority=12')).status).toBe(400);
    });
  });

  describe('rate limits', () => {
    it('never runs two tasks of a key with concurrency 1 at once, on two workers for two organizations', async () => {
      await registerShellPlugin(admin, 'polite', 'sleep 0.5', {
        rate_limit: { key: 'one-external-api', concurrency: 1 },
      });
      await registerShellPlugin(admin, 'unlimited', 'true');
      const limited = [
        ...(await bulk(acme, 'polite', hostnames('polite-acme', 3))),
        ...(await bulk(globex, 'polite', hostnames('polite-globex', 3))),
      ];
      // Real containers, two workers with two slots each.
      workers.push(await startWorker(environment.settings({ WORKER_CONCURRENCY: '2' })));
      workers.push(await startWorker(environment.settings({ WORKER_CONCURRENCY: '2' })));
      const held = await waitFor('a task held back by its key', async () => {
        const { body } = await acme.get(`/tasks/${limited[2]}/`);
        return body.waiting_for === 'rate_limit' && body;
      });
      expect(held).toMatchObject({ status: 'PENDING', rate_key: 'one-external-api' });
      // Other keys pass: an unlimited task created after all six ends while they still queue.
      const free = await create(globex, 'unlimited', 'internet|free.example.com');
      await ended(globex, free.id);
      expect((await timings(limited)).filter((t) => t.ended_at).length).toBeLessThan(6);

      await allEnded(limited);
      const runs = await timings(limited);
      expect(new Set(runs.map((r) => r.organization))).toEqual(new Set(['acme', 'globex']));
      for (let i = 1; i < runs.length; i++) expect(runs[i].started_at! >= runs[i - 1].ended_at!).toBe(true);
    });

    it('starts no more than per_minute tasks of a key in any window, per target host from a template', async () => {
      await processPlugin('paced', 'true', { rate_limit: { key: 'host:{name}', per_minute: 2 } });
      const sameHost = ['internet|paced.example.com'];
      // Distinct inputs of one host are impossible for hostnames; a literal-free key per host still
      // spreads: two hosts, three tasks each (through three plugins sharing the key template).
      await processPlugin('paced2', 'true', { rate_limit: { key: 'host:{name}', per_minute: 2 } });
      await processPlugin('paced3', 'true', { rate_limit: { key: 'host:{name}', per_minute: 2 } });
      const ids: string[] = [];
      for (const plugin of ['paced', 'paced2', 'paced3'])
        for (const input of [...sameHost, 'internet|other-paced.example.com'])
          ids.push((await create(acme, plugin, input)).id);
      await startWorkers(1, { WORKER_CONCURRENCY: '4', RATE_WINDOW_SECONDS: '2' });
      await allEnded(ids, 30_000);
      const runs = await timings(ids);
      const byKey = new Map<string, Timing[]>();
      for (const run of runs) {
        const { rate_key } = (await acme.get(`/tasks/${run.id}/`)).body;
        byKey.set(rate_key, [...(byKey.get(rate_key) ?? []), run]);
      }
      expect([...byKey.keys()].sort()).toEqual(['host:other-paced.example.com', 'host:paced.example.com']);
      for (const starts of byKey.values()) {
        // Three starts of a key, two per 2 s window: the third starts at least 2 s after the first.
        expect(starts).toHaveLength(3);
        expect(starts[2].started_at!.getTime() - starts[0].started_at!.getTime()).toBeGreaterThanOrEqual(2000);
      }
    });

    it("changes a key's limits at run time through PATCH, and refuses a template the input lacks", async () => {
      await processPlugin('retuned', 'sleep 0.3', { rate_limit: { key: 'retuned', concurrency: 1 } });
      const ids = await bulk(acme, 'retuned', hostnames('retuned', 4));
      expect((await acme.get(`/tasks/${ids[0]}/`)).body.rate_key).toBe('retuned');
      // A new key applies to the tasks still waiting, resolved for each input.
      await admin.patch('/plugins/retuned/', { rate_limit: { key: 'host:{name}', concurrency: 1 } }).expect(200);
      expect((await acme.get(`/tasks/${ids[0]}/`)).body.rate_key).toBe('host:retuned-0.example.com');
      await admin.patch('/plugins/retuned/', { rate_limit: { key: 'retuned', concurrency: 4 } }).expect(200);
      await startWorkers(1, { WORKER_CONCURRENCY: '4' });
      await allEnded(ids);
      const runs = await timings(ids);
      // With room for four, they overlap.
      expect(runs[1].started_at! < runs[0].ended_at!).toBe(true);
      const bad = await admin.patch('/plugins/retuned/', { rate_limit: { key: '{address}' } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toEqual(['rate_limit.key: hostname has no key field {address}']);
    });
  });

  describe('retries with back-off', () => {
    it("retries a plugin failure after S, then 2S, keeping every attempt's error", async () => {
      await processPlugin('flaky', 'echo "attempt failed" >&2; exit 3', {
        retry: { max_attempts: 3, backoff_seconds: 1 },
      });
      await startWorkers(1);
      const task = await create(acme, 'flaky', 'internet|flaky.example.com');
      const waiting = await waitFor('the task to wait for its back-off', async () => {
        const { body } = await acme.get(`/tasks/${task.id}/`);
        return body.waiting_for === 'run_after' && body;
      });
      expect(waiting).toMatchObject({ status: 'PENDING', attempts: 1 });
      expect(waiting.data.errors).toHaveLength(1);
      const failed = await ended(acme, task.id);
      expect(failed).toMatchObject({ status: 'FAILED', attempts: 3 });
      expect(failed.data.error).toBe('plugin flaky exited with code 3: attempt failed');
      const errors: Array<{ attempt: number; at: string; error: string }> = failed.data.errors;
      expect(errors.map((e) => e.attempt)).toEqual([1, 2, 3]);
      expect(errors.every((e) => e.error === failed.data.error)).toBe(true);
      const gaps = [1, 2].map((i) => new Date(errors[i].at).getTime() - new Date(errors[i - 1].at).getTime());
      // S · 2^(n−1) with ±25 % jitter, plus a round's wait and the run itself.
      expect(gaps[0]).toBeGreaterThanOrEqual(750);
      expect(gaps[0]).toBeLessThan(1250 + 1500);
      expect(gaps[1]).toBeGreaterThanOrEqual(1500);
      expect(gaps[1]).toBeLessThan(2500 + 1500);
    });

    it('runs a task in its back-off at once on "Run task", and completes it once the plugin succeeds', async () => {
      const marker = `/tmp/kat-retry-${randomBytes(4).toString('hex')}`;
      await processPlugin('second-time', `[ -f ${marker} ] || { touch ${marker}; echo first >&2; exit 1; }`, {
        retry: { max_attempts: 2, backoff_seconds: 3600 },
      });
      await startWorkers(1);
      const task = await create(acme, 'second-time', 'internet|second.example.com');
      await waitFor(
        'the back-off',
        async () => (await acme.get(`/tasks/${task.id}/`)).body.waiting_for === 'run_after',
      );
      await admin.post(`/tasks/${task.id}/run/?organization=acme`).expect(202);
      const done = await ended(acme, task.id, 10_000);
      expect(done).toMatchObject({ status: 'COMPLETED', attempts: 2, run_after: null });
      expect(done.data.errors.map((e: { error: string }) => e.error)).toEqual([
        'plugin second-time exited with code 1: first',
      ]);
    });
  });
});
