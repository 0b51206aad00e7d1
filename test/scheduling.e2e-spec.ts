import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { seed } from '@kat/domain';
import { CreateScheduledTasksJob, JobRunner, lockKey } from '@kat/scheduling';
import { ApiClient, client, startApi, startScheduler, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { startDnsServer } from './support/loopback-servers';
import { registerShellPlugin } from './support/plugins';

/** Object sets, schedules, set-based ticks, chaining and scheduler toggling, on real PostgreSQL and Redis. */
describe('scheduling', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let replicas: INestApplicationContext[];
  let acme: ApiClient;
  let admin: ApiClient;
  let sql: (query: string, params?: unknown[]) => Promise<any[]>;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    sql = (query, params) => environment.withDataSource((db) => db.query(query, params));
    api = await startApi(environment.settings());
    // Ticks are driven by the tests (SCHEDULER_ENABLED=false), except where a test says otherwise.
    const settings = environment.settings({ SCHEDULER_ENABLED: 'false' });
    replicas = [await startScheduler(settings), await startScheduler(settings)];
    acme = client(api, await environment.token('acme'));
    admin = client(api, await environment.token('acme', { admin: true }));
    await registerShellPlugin(admin, 'scan', 'true');
  });

  afterAll(async () => {
    for (const replica of replicas ?? []) await replica.close();
    await api?.close();
    await environment?.destroy();
  });

  /** Makes create-scheduled-tasks due and lets every replica try it at once; returns what ran. */
  async function tick(): Promise<Record<string, number>> {
    await sql(`UPDATE scheduler_job SET next_run_at = now() WHERE name = 'create-scheduled-tasks'`);
    const results = await Promise.all(replicas.map((r) => r.get(JobRunner).runIfDue(r.get(CreateScheduledTasksJob))));
    const ran = results.filter((r) => r !== null);
    expect(ran).toHaveLength(1);
    return ran[0]!;
  }

  async function hostnames(prefix: string, count: number): Promise<void> {
    const objects = Array.from({ length: count }, (_, i) => ({ network: 'internet', name: `h${i}.${prefix}.example` }));
    await acme.post('/objects/hostname/', objects).expect(201);
  }

  async function schedule(
    name: string,
    query: string | null,
    extra: object = {},
  ): Promise<{ id: string; setId: string }> {
    const set = (await acme.post('/object-sets/', { name, object_type: 'hostname', query }).expect(201)).body;
    const created = (
      await acme
        .post('/schedules/', { plugin_id: 'scan', object_set_id: set.id, interval: 'PT24H', ...extra })
        .expect(201)
    ).body;
    return { id: created.id, setId: set.id };
  }

  const tasksOf = async (scheduleId: string) =>
    (await sql(`SELECT count(*)::int AS n FROM task WHERE schedule_id = $1`, [scheduleId]))[0].n;

  it('creates a task per object on the first tick, none on the next, and all again after the interval', async () => {
    await hostnames('ticks', 200);
    const { id } = await schedule('ticks', 'name $= ".ticks.example"');
    expect(await tick()).toMatchObject({ tasks_created: 200 });
    expect(await tasksOf(id)).toBe(200);
    expect(await tick()).toMatchObject({ tasks_created: 0 });
    expect(await tasksOf(id)).toBe(200);

    // The scans end: 150 complete, 50 fail; a day passes for the completed ones only.
    await sql(`UPDATE task SET status = 'RUNNING' WHERE schedule_id = $1`, [id]);
    await sql(
      `UPDATE task SET status = CASE WHEN input_object < 'internet|h5' THEN 'FAILED' ELSE 'COMPLETED' END
       WHERE schedule_id = $1`,
      [id],
    );
    const [{ failed }] = await sql(
      `SELECT count(*)::int AS failed FROM task WHERE schedule_id = $1 AND status = 'FAILED'`,
      [id],
    );
    await sql(
      `UPDATE task SET created_at = created_at - interval '25 hours' WHERE schedule_id = $1 AND status = 'COMPLETED'`,
      [id],
    );
    // The schedule's last tick is 25 hours back as well: a steady tick reads what happened since it.
    await sql(`UPDATE schedule SET swept_at = swept_at - interval '25 hours' WHERE id = $1`, [id]);
    // A failed scan within the interval still counts as a scan (as in OpenKAT): not repeated yet.
    expect(await tick()).toMatchObject({ tasks_created: 200 - failed });
    expect(await tasksOf(id)).toBe(400 - failed);
    await sql(`DELETE FROM task WHERE schedule_id = $1`, [id]);
    await acme.delete(`/schedules/${id}/`).expect(204);
  });

  it('creates nothing for an empty set, a disabled schedule or a disabled plugin', async () => {
    const empty = await schedule('empty', 'name = "nothing.example"');
    await hostnames('disabled', 5);
    const disabled = await schedule('disabled', 'name $= ".disabled.example"', { enabled: false });
    expect(await tick()).toMatchObject({ tasks_created: 0 });
    expect(await tasksOf(empty.id)).toBe(0);
    expect(await tasksOf(disabled.id)).toBe(0);

    await acme.patch(`/schedules/${disabled.id}/`, { enabled: true }).expect(200);
    await admin.patch('/plugins/scan/', { enabled: false }).expect(200);
    expect(await tick()).toMatchObject({ tasks_created: 0 });
    await admin.patch('/plugins/scan/', { enabled: true }).expect(200);
    expect(await tick()).toMatchObject({ tasks_created: 5 });
    for (const s of [empty, disabled]) {
      await sql(`DELETE FROM task WHERE schedule_id = $1`, [s.id]);
      await acme.delete(`/schedules/${s.id}/`).expect(204);
    }
  });

  it('never creates a task twice, even when two replicas create at the same moment', async () => {
    await hostnames('race', 300);
    const { id } = await schedule('race', 'name $= ".race.example"');
    const [a, b] = await Promise.all(replicas.map((r) => r.get(CreateScheduledTasksJob).run()));
    expect(a.tasks_created + b.tasks_created).toBe(300);
    const [{ n, distinct }] = await sql(
      `SELECT count(*)::int AS n, count(DISTINCT input_object)::int AS distinct FROM task WHERE schedule_id = $1`,
      [id],
    );
    expect({ n, distinct }).toEqual({ n: 300, distinct: 300 });
    await sql(`DELETE FROM task WHERE schedule_id = $1`, [id]);
    await acme.delete(`/schedules/${id}/`).expect(204);
  });

  it('runs a schedule now, whatever its interval, skipping objects with an active task', async () => {
    await hostnames('now', 3);
    const { id } = await schedule('now', 'name $= ".now.example"', { enabled: false });
    expect((await acme.post(`/schedules/${id}/run/`).expect(200)).body).toEqual({ tasks_created: 3 });
    expect((await acme.post(`/schedules/${id}/run/`).expect(200)).body).toEqual({ tasks_created: 0 });
    const tasks = (await acme.get(`/tasks/?schedule_id=${id}`)).body.results;
    expect(tasks.map((t: { schedule_id: string }) => t.schedule_id)).toEqual([id, id, id]);
    await sql(`DELETE FROM task WHERE schedule_id = $1`, [id]);
  });

  describe('object sets and schedules through the API', () => {
    it('shows the current members of a set: listed keys, a filter, or every object of the type', async () => {
      await hostnames('members', 3);
      const listed = (
        await acme
          .post('/object-sets/', {
            name: 'listed',
            object_type: 'hostname',
            query: null,
            object_ids: ['internet|h1.members.example'],
          })
          .expect(201)
      ).body;
      const filtered = (
        await acme
          .post('/object-sets/', {
            name: 'filtered',
            object_type: 'hostname',
            query: '(name ^= h0. or name ^= h2.) and name $= .members.example',
          })
          .expect(201)
      ).body;
      const everything = (
        await acme.post('/object-sets/', { name: 'everything', object_type: 'hostname', query: '' }).expect(201)
      ).body;
      const keys = async (id: string) =>
        (await acme.get(`/object-sets/${id}/objects/?limit=500`)).body.results.map(
          (o: { primary_key: string }) => o.primary_key,
        );
      expect((await acme.get(`/object-sets/${listed.id}/`).expect(200)).body).toMatchObject({
        name: 'listed',
        query: null,
        object_ids: ['internet|h1.members.example'],
      });
      expect(await keys(listed.id)).toEqual(['internet|h1.members.example']);
      expect(await keys(filtered.id)).toEqual(['internet|h0.members.example', 'internet|h2.members.example']);
      const [{ n }] = await sql(`SELECT count(*)::int AS n FROM object WHERE object_type = 'hostname'`);
      expect((await keys(everything.id)).length).toBe(Math.min(n, 500));
    });

    it('rejects a bad filter, interval or plugin with a 400 that points at the error', async () => {
      const badQuery = await acme
        .post('/object-sets/', { name: 'bad', object_type: 'hostname', query: 'name $= x and colour = red' })
        .expect(400);
      expect(badQuery.body.message).toEqual([
        'query: at character 15: unknown field "colour"; the fields are network, name',
      ]);
      await acme.post('/object-sets/', { name: 'bad', object_type: 'planet', query: '' }).expect(400);
      const set = (await acme.post('/object-sets/', { name: 'ips', object_type: 'ipaddress', query: '' }).expect(201))
        .body;
      await acme.post('/object-sets/', { name: 'ips', object_type: 'ipaddress', query: '' }).expect(409);

      const wrongType = await acme
        .post('/schedules/', { plugin_id: 'scan', object_set_id: set.id, interval: 'PT1H' })
        .expect(400);
      expect(wrongType.body.message).toEqual([
        'plugin_id: scan consumes hostname, not the ipaddress objects of this set',
      ]);
      const badInterval = await acme
        .post('/schedules/', { plugin_id: 'scan', object_set_id: set.id, interval: 'P1M' })
        .expect(400);
      expect(badInterval.body.message).toEqual([
        'interval must be an ISO 8601 duration in weeks, days, hours, minutes or seconds (PT24H, P1D) ' +
          'or a number of seconds, at most ten years',
      ]);
      await acme.post('/schedules/', { plugin_id: 'nope', object_set_id: set.id, interval: 60 }).expect(400);
      const other = client(api, await environment.token('globex'));
      await other.post('/schedules/', { plugin_id: 'scan', object_set_id: set.id, interval: 60 }).expect(400);
      await other.get(`/object-sets/${set.id}/`).expect(404);
    });

    it('accepts ISO 8601 or seconds and shows both', async () => {
      const set = (
        await acme.post('/object-sets/', { name: 'intervals', object_type: 'hostname', query: null }).expect(201)
      ).body;
      const created = (
        await acme.post('/schedules/', { plugin_id: 'scan', object_set_id: set.id, interval: 'PT24H' }).expect(201)
      ).body;
      expect(created).toMatchObject({ interval: 'P1D', interval_seconds: 86400, enabled: true, last_run_at: null });
      const patched = (await acme.patch(`/schedules/${created.id}/`, { interval: 5400, enabled: false }).expect(200))
        .body;
      expect(patched).toMatchObject({ interval: 'PT1H30M', enabled: false });
    });
  });

  describe('scheduler toggling', () => {
    const JOB = 'create-scheduled-tasks';
    /** The job's last run and the database's clock, as text to keep PostgreSQL's microseconds. */
    const jobNow = async (): Promise<{ last_run_at: string | null; now: string }> =>
      (await sql(`SELECT last_run_at::text, now()::text AS now FROM scheduler_job WHERE name = $1`, [JOB]))[0];
    // IS TRUE: a job that never ran has a NULL last run, which waitFor would take for an answer.
    const ranSince = async (since: string) =>
      (
        await sql(`SELECT (last_run_at > $2::timestamptz) IS TRUE AS ran FROM scheduler_job WHERE name = $1`, [
          JOB,
          since,
        ])
      )[0].ran;
    /** The polling replicas found the job due after `since` and moved its next run on (cron: every second). */
    const passedOver = (since: string) =>
      waitFor(
        'the replicas to pass over the due job',
        async () =>
          (
            await sql(
              `SELECT next_run_at > $2::timestamptz + interval '2 seconds' AS passed FROM scheduler_job
               WHERE name = $1`,
              [JOB, since],
            )
          )[0].passed,
      );

    /**
     * Switches the job off with `switchOff` and shows that the polling replicas pass over it. First
     * while the test holds the job's advisory lock: a run decided before the switch cannot slip in,
     * and since a locked-out run moves nothing, a moved next run is a poll that saw the switch. Then
     * with the lock free, where a poll ignoring the switch would run it: its last run stays.
     */
    async function passesOverOnceSwitchedOff(switchOff: () => Promise<unknown>): Promise<void> {
      await environment.withDataSource(async (db) => {
        const lock = db.createQueryRunner();
        await lock.connect();
        try {
          await lock.query(`SELECT pg_advisory_lock($1::bigint)`, [lockKey(JOB)]);
          await switchOff();
          const switched = await jobNow();
          await passedOver(switched.now);
          await lock.query(`SELECT pg_advisory_unlock($1::bigint)`, [lockKey(JOB)]);
          await passedOver((await jobNow()).now);
          expect((await jobNow()).last_run_at).toBe(switched.last_run_at);
        } finally {
          await lock.release();
        }
      });
    }

    it(
      'shows each job and applies a switched-off job, the global switch and a new cron ' +
        'at the next poll of every replica',
      async () => {
        const polling = [
          environment.settings({ SCHEDULER_POLL_MS: '200' }),
          environment.settings({ SCHEDULER_POLL_MS: '200' }),
        ];
        const live = [await startScheduler(polling[0]), await startScheduler(polling[1])];
        try {
          const job = async () =>
            (await admin.get('/scheduler/')).body.jobs.find((j: { name: string }) => j.name === JOB);
          // Earlier tests ran the job by hand: only a run after the new cron is the replicas'.
          const cronChanged = (await jobNow()).now;
          await admin.patch(`/scheduler/jobs/${JOB}/`, { cron: '* * * * * *' }).expect(200);
          await waitFor('the replicas to run the job on its new cron', () => ranSince(cronChanged));
          expect(await job()).toMatchObject({
            enabled: true,
            cron: '* * * * * *',
            last_result: expect.objectContaining({ tasks_created: expect.any(Number) }),
          });

          await passesOverOnceSwitchedOff(() => admin.patch(`/scheduler/jobs/${JOB}/`, { enabled: false }).expect(200));

          const switchedOn = (await jobNow()).now;
          await admin.patch(`/scheduler/jobs/${JOB}/`, { enabled: true }).expect(200);
          await waitFor('the job to run again', () => ranSince(switchedOn));

          await passesOverOnceSwitchedOff(() => admin.patch('/scheduler/', { enabled: false }).expect(200));
          expect((await admin.get('/scheduler/')).body.enabled).toBe(false);
        } finally {
          await admin.patch('/scheduler/', { enabled: true }).expect(200);
          await admin.patch(`/scheduler/jobs/${JOB}/`, { cron: '* * * * *' }).expect(200);
          for (const replica of live) await replica.close();
        }
      },
    );

    it('validates switches and crons, and keeps them to admins', async () => {
      await acme.patch('/scheduler/', { enabled: false }).expect(403);
      const bad = await admin.patch('/scheduler/jobs/reconcile-tasks/', { cron: 'every minute' }).expect(400);
      expect(bad.body.message).toEqual([
        'cron must be a cron expression of 5 fields (or 6, seconds first), e.g. "*/5 * * * *"',
      ]);
      await admin.patch('/scheduler/jobs/nope/', { enabled: false }).expect(404);
      const jobs = (await admin.get('/scheduler/')).body.jobs.map((j: { name: string }) => j.name);
      expect(jobs).toEqual(['create-scheduled-tasks', 'prune-tasks', 'reconcile-tasks', 'run-business-rules']);
    });
  });

  it("shows each queue's counts and live workers", async () => {
    const worker = await startWorker(environment.settings());
    try {
      const queues = await waitFor('the worker to show', async () => {
        const { body } = await admin.get('/queues/');
        return body.results.find((q: { name: string }) => q.name === 'plugin').workers.length > 0 && body.results;
      });
      expect(queues.map((q: { name: string }) => q.name)).toEqual(['plugin', 'business_rule', 'report']);
      expect(queues[0]).toEqual(
        expect.objectContaining({
          waiting: expect.any(Number),
          active: expect.any(Number),
          delayed: expect.any(Number),
          failed: 0,
          completed: 0,
        }),
      );
      await acme.get('/queues/').expect(403);
    } finally {
      await worker.close();
    }
  });

  it('chains: dns_records finds addresses, and a port_scan schedule on addresses follows at once', async () => {
    await environment.withDataSource((db) => seed(db));
    const dns = await startDnsServer([{ name: 'chain.example', type: 'A', ttl: 60, data: '127.0.0.1' }]);
    const worker = await startWorker(environment.settings({ PLUGIN_NETWORK: 'host' }));
    try {
      await admin.patch('/plugins/dns_records/', { settings: { resolver: `127.0.0.1:${dns.port}` } }).expect(200);
      await admin.patch('/plugins/port_scan/', { settings: { ports: '1', timeout_ms: '200' } }).expect(200);
      await acme.post('/objects/hostname/', { network: 'internet', name: 'chain.example' }).expect(201);
      const names = (
        await acme
          .post('/object-sets/', { name: 'chain names', object_type: 'hostname', query: 'name = chain.example' })
          .expect(201)
      ).body;
      const addresses = (
        await acme
          .post('/object-sets/', { name: 'loopback addresses', object_type: 'ipaddress', query: 'address ^= 127.' })
          .expect(201)
      ).body;
      const dnsSchedule = (
        await acme
          .post('/schedules/', { plugin_id: 'dns_records', object_set_id: names.id, interval: 'P1D' })
          .expect(201)
      ).body;
      const scanSchedule = (
        await acme
          .post('/schedules/', { plugin_id: 'port_scan', object_set_id: addresses.id, interval: 'P1D' })
          .expect(201)
      ).body;

      expect((await acme.post(`/schedules/${dnsSchedule.id}/run/`).expect(200)).body.tasks_created).toBe(1);
      const [parent] = (await acme.get(`/tasks/?schedule_id=${dnsSchedule.id}`)).body.results;
      const followUp = await waitFor('the follow-up port scan', async () => {
        const { body } = await acme.get(`/tasks/?schedule_id=${scanSchedule.id}`);
        return body.results[0]?.status === 'COMPLETED' && body.results[0];
      });
      expect(followUp).toMatchObject({
        parent_task_id: parent.id,
        data: { plugin_id: 'port_scan', input_data: 'internet|127.0.0.1' },
      });
      expect((await acme.get(`/tasks/${parent.id}/`)).body.status).toBe('COMPLETED');
      expect((await acme.get(`/tasks/?plugin_id=port_scan`)).body.results).toHaveLength(1);
    } finally {
      await worker.close();
      await dns.close();
    }
  });
  it('goes on with the other schedules when one fails, and creates its tasks on a later tick', async () => {
    await hostnames('healthy', 3);
    await hostnames('poisoned', 3);
    const healthy = await schedule('healthy', 'name $= ".healthy.example"');
    const poisoned = await schedule('poisoned', 'name $= ".poisoned.example"');
    await sql(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data ->> 'input_data' LIKE '%.poisoned.example' THEN RAISE EXCEPTION 'poisoned'; END IF;
        RETURN NEW;
      END $$`);
    await sql(`CREATE TRIGGER poison BEFORE INSERT ON task FOR EACH ROW EXECUTE FUNCTION poison()`);
    try {
      expect(await tick()).toMatchObject({ schedules_failed: 1, tasks_created: 3 });
    } finally {
      await sql(`DROP TRIGGER poison ON task; DROP FUNCTION poison()`);
    }
    expect(await tasksOf(healthy.id)).toBe(3);
    expect(await tasksOf(poisoned.id)).toBe(0);
    expect(await tick()).toMatchObject({ schedules_failed: 0, tasks_created: 3 });
    expect(await tasksOf(poisoned.id)).toBe(3);
  });
});
