import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { TaskType } from '@kat/domain';
import { TaskDispatcher } from '@kat/queue';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import request from 'supertest';
import { containersOfTask, registerShellPlugin } from './support/plugins';

/**
 * The task lifecycle end to end on real PostgreSQL, Redis and the container engine: the API
 * creates and queues, the worker runs plugin containers, the row records the outcome.
 */
describe('task lifecycle', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let worker: INestApplicationContext;
  let acme: ApiClient;
  let admin: ApiClient;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    const settings = environment.settings();
    api = await startApi(settings);
    worker = await startWorker(settings);
    acme = client(api, await environment.token('acme'));
    admin = client(api, await environment.token('acme', { admin: true }));
    await registerShellPlugin(
      admin,
      'echo',
      'echo "{\\"object_type\\": \\"hostname\\", \\"network\\": \\"{network}\\", \\"name\\": \\"www.{name}\\"}"; ' +
        'echo "scanned {input}" >&2',
    );
    await registerShellPlugin(admin, 'broken', 'echo "resolver unreachable: 192.0.2.53" >&2; exit 3');
    // Neither ends by itself: only its timeout or a cancel can stop it.
    await registerShellPlugin(admin, 'sleeper', 'while :; do sleep 1; done', { timeout_seconds: 2 });
    await registerShellPlugin(admin, 'slow', 'while :; do sleep 1; done');
  });

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  const create = (plugin_id: string, input_data = 'internet|example.com') =>
    acme.post('/tasks/', { type: 'plugin', data: { plugin_id, input_data } });

  const pluginQueue = () => api.get(TaskDispatcher).queueFor(TaskType.PLUGIN);

  const finished = (id: string, as: ApiClient = acme) =>
    waitFor(`task ${id} to end`, async () => {
      const { body } = await as.get(`/tasks/${id}/`);
      return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(body.status) && body;
    });

  it('runs a plugin task to COMPLETED and stores its output', async () => {
    const created = await create('echo');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ organization: 'acme', type: 'plugin', status: 'PENDING', attempts: 0 });
    expect(created.body.data).toEqual({ plugin_id: 'echo', input_data: 'internet|example.com' });

    const task = await finished(created.body.id);
    expect(task).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    expect(new Date(task.started_at).getTime()).toBeGreaterThanOrEqual(new Date(task.created_at).getTime());
    expect(new Date(task.ended_at).getTime()).toBeGreaterThanOrEqual(new Date(task.started_at).getTime());

    const logs = await acme.get(`/tasks/${task.id}/logs/`);
    expect(logs.body).toEqual({
      stdout: '{"object_type": "hostname", "network": "internet", "name": "www.example.com"}\n',
      stderr: 'scanned internet|example.com\n',
      truncated: false,
      stdout_truncated: false,
      stderr_truncated: false,
    });
    expect(await containersOfTask(task.id)).toEqual([]);
  });

  it('fails a task whose plugin exits non-zero, with the stderr in data.traceback', async () => {
    const { body } = await create('broken');
    const task = await finished(body.id);
    expect(task.status).toBe('FAILED');
    expect(task.data.error).toBe('plugin broken exited with code 3: resolver unreachable: 192.0.2.53');
    expect(task.data.traceback).toContain('resolver unreachable: 192.0.2.53');
    expect(await containersOfTask(task.id)).toEqual([]);
  });

  it('kills a plugin at its timeout, fails the task and removes the container', async () => {
    const { body } = await create('sleeper');
    const task = await finished(body.id);
    expect(task.status).toBe('FAILED');
    expect(task.data.error).toBe('plugin sleeper timed out after 2 s and was killed');
    // Not before its timeout: the 2 s are counted from the container's start, after the claim set started_at.
    expect(new Date(task.ended_at).getTime() - new Date(task.started_at).getTime()).toBeGreaterThanOrEqual(2000);
    expect(await containersOfTask(task.id)).toEqual([]);
  });

  it('retries a failed task under the same id, counting attempts, until it completes', async () => {
    const { body } = await create('broken', 'internet|retry.example.com');
    const failed = await finished(body.id);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });

    // The operator fixes the plugin, then retries the task.
    await admin.patch('/plugins/broken/', { command: ['sh', '-c', 'echo fixed >&2'] }).expect(200);
    const retried = await acme.post(`/tasks/${body.id}/retry/`).expect(200);
    expect(retried.body).toMatchObject({ id: body.id, status: 'PENDING', attempts: 1 });
    expect(retried.body.data.error).toBeUndefined();

    const task = await finished(body.id);
    expect(task).toMatchObject({ id: body.id, status: 'COMPLETED', attempts: 2 });
    expect((await acme.get(`/tasks/${body.id}/logs/`)).body.stderr).toBe('fixed\n');
    await admin
      .patch('/plugins/broken/', { command: ['sh', '-c', 'echo "resolver unreachable: 192.0.2.53" >&2; exit 3'] })
      .expect(200);
  });

  it("shows the last attempt's log, even when that attempt printed nothing", async () => {
    const { body } = await create('broken', 'internet|quiet-retry.example.com');
    await finished(body.id);
    expect((await acme.get(`/tasks/${body.id}/logs/`)).body.stderr).toBe('resolver unreachable: 192.0.2.53\n');
    await admin.patch('/plugins/broken/', { command: ['true'] }).expect(200);
    try {
      await acme.post(`/tasks/${body.id}/retry/`).expect(200);
      expect(await finished(body.id)).toMatchObject({ status: 'COMPLETED', attempts: 2 });
      expect((await acme.get(`/tasks/${body.id}/logs/`)).body).toMatchObject({ stdout: '', stderr: '' });
    } finally {
      await admin
        .patch('/plugins/broken/', { command: ['sh', '-c', 'echo "resolver unreachable: 192.0.2.53" >&2; exit 3'] })
        .expect(200);
    }
  });

  it('stops the container of a running task that is cancelled', async () => {
    const { body } = await create('slow');
    await waitFor('the plugin container to run', async () => {
      const containers = await containersOfTask(body.id);
      return containers.some((c) => c.State === 'running');
    });
    const cancelled = await acme.post(`/tasks/${body.id}/cancel/`).expect(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    await waitFor('the container to be removed', async () => (await containersOfTask(body.id)).length === 0);
    const task = (await acme.get(`/tasks/${body.id}/`)).body;
    expect(task).toMatchObject({ status: 'CANCELLED', data: { error: 'cancelled by a user' } });
    await acme.post(`/tasks/${body.id}/cancel/`).expect(409);
  });

  it('cancels a PENDING task before any worker runs it', async () => {
    await worker.close();
    let cancelled: string;
    try {
      const { body } = await create('echo', 'internet|pending.example.com');
      // No live worker offers a slot: the task waits in the database, not on the queue.
      expect(body).toMatchObject({ status: 'PENDING', waiting_for: 'turn', priority: 3 });
      expect(await pluginQueue().getJob(body.id)).toBeNull();
      await acme.post(`/tasks/${body.id}/cancel/`).expect(200);
      cancelled = body.id;
    } finally {
      worker = await startWorker(environment.settings());
    }
    // The admission has had its chance once a younger task of the same organization has run.
    const later = (await create('echo', 'internet|after-pending.example.com')).body;
    expect(await finished(later.id)).toMatchObject({ status: 'COMPLETED' });
    const task = (await acme.get(`/tasks/${cancelled}/`)).body;
    expect(task).toMatchObject({ status: 'CANCELLED', attempts: 0, started_at: null, waiting_for: null });
  });

  it('returns the existing active task instead of creating a duplicate', async () => {
    const first = await create('slow', 'internet|dup.example.com');
    expect(first.status).toBe(201);
    const second = await create('slow', 'internet|dup.example.com');
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    // Another input, or the same input after the first ended, makes a new task.
    expect((await create('slow', 'internet|other.example.com')).status).toBe(201);
    await acme.post(`/tasks/${first.body.id}/cancel/`).expect(200);
    const third = await create('slow', 'internet|dup.example.com');
    expect(third.status).toBe(201);
    expect(third.body.id).not.toBe(first.body.id);
    await acme.post(`/tasks/${third.body.id}/cancel/`).expect(200);
    await acme.post(`/tasks/${(await create('slow', 'internet|other.example.com')).body.id}/cancel/`).expect(200);
  });

  it('answers each of many POSTs made at once as if alone, though their creates share statements', async () => {
    const same = 'internet|together-same.example.com';
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => create('slow', `internet|together-${i}.example.com`)),
      ...Array.from({ length: 4 }, () => create('slow', same)),
    ]);
    const [distinct, duplicates] = [answers.slice(0, 8), answers.slice(8)];
    const made = [...new Set(answers.map((r) => r.body.id as string))];
    try {
      expect(distinct.map((r) => r.status)).toEqual(Array(8).fill(201));
      expect(new Set(distinct.map((r) => r.body.id)).size).toBe(8);
      // One of the four wanting the same input created it; the others got that task (which may run already).
      expect(duplicates.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
      expect(new Set(duplicates.map((r) => r.body.id)).size).toBe(1);
      expect(duplicates[0].body).toMatchObject({ organization: 'acme', priority: 3 });
    } finally {
      // Whatever happened: slow tasks left running would hold the worker's slots for the tests after.
      for (const id of made) await acme.post(`/tasks/${id}/cancel/`);
    }
    // Tasks made by one statement share created_at to the microsecond: the list's pages (below) must
    // not lose one at a page boundary among them, whatever statement made them here.
    await environment.withDataSource((db) =>
      db.query(
        `UPDATE task SET created_at = date_trunc('second', created_at) + interval '123456 microseconds'
         WHERE id = ANY($1)`,
        [distinct.map((r) => r.body.id)],
      ),
    );
  });

  it('creates many plugin tasks in one request, in order, giving an input with an active task that task', async () => {
    const active = (await create('slow', 'internet|bulk-active.example.com')).body;
    const inputs = ['internet|bulk1.example.com', 'internet|bulk2.example.com', 'internet|bulk1.example.com'];
    const response = await acme.post('/tasks/bulk/', {
      tasks: [
        ...inputs.map((input_data) => ({ plugin_id: 'echo', input_data })),
        { plugin_id: 'slow', input_data: 'internet|bulk-active.example.com' },
      ],
    });
    expect(response.status).toBe(201);
    expect(response.body.created).toBe(2);
    const [first, second, again, existing] = response.body.results;
    expect([first.data.input_data, second.data.input_data]).toEqual(inputs.slice(0, 2));
    expect(again.id).toBe(first.id);
    expect(existing.id).toBe(active.id);
    expect(['PENDING', 'RUNNING']).toContain(existing.status);
    for (const task of [first, second])
      expect(await finished(task.id)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    await acme.post(`/tasks/${active.id}/cancel/`).expect(200);
  });

  it('creates none of a bulk request with one bad task, naming it', async () => {
    const before = (await acme.get('/tasks/?limit=500')).body.count;
    const bad = await acme.post('/tasks/bulk/', {
      tasks: [
        { plugin_id: 'echo', input_data: 'internet|fine.example.com' },
        { plugin_id: 'echo', input_data: 'fine.example.com' },
        { plugin_id: 'nmap', input_data: 'x' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual([
      'tasks.1.input_data: echo consumes hostname, and "fine.example.com" is none: ' +
        'a hostname key has 2 fields (network|name)',
      'tasks.2.plugin_id: unknown plugin nmap',
    ]);
    expect((await acme.post('/tasks/bulk/', { tasks: [{ plugin_id: 'echo' }] })).body.message).toContain(
      'tasks.0.input_data must be a string',
    );
    expect((await acme.post('/tasks/bulk/', { tasks: [] })).body.message).toEqual([
      'tasks must contain at least 1 elements',
    ]);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({
      plugin_id: 'echo',
      input_data: `internet|h${i}.example.com`,
    }));
    expect((await acme.post('/tasks/bulk/', { tasks: tooMany })).body.message).toEqual([
      'tasks must contain no more than 1000 elements',
    ]);
    expect((await acme.get('/tasks/?limit=500')).body.count).toBe(before);
  });

  it('lists tasks newest first with filters and cursor pagination', async () => {
    const all = (await acme.get('/tasks/?limit=500')).body;
    expect(all.count).toBe(all.results.length);
    const times = all.results.map((t: { created_at: string }) => t.created_at);
    expect([...times].sort().reverse()).toEqual(times);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { results: Array<{ id: string }>; next_cursor: string | null; count: number } } =
        await acme.get(`/tasks/?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.count).toBe(all.count); // every page counts the filters' matches, not what is left
      seen.push(...page.body.results.map((t) => t.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.results.map((t: { id: string }) => t.id));

    const failed = (await acme.get('/tasks/?status=FAILED&plugin_id=sleeper')).body;
    expect(failed.results.length).toBeGreaterThan(0);
    expect(failed.count).toBe(failed.results.length);
    expect(failed.count).toBeLessThan(all.count);
    expect(
      failed.results.every(
        (t: { status: string; data: { plugin_id: string } }) => t.status === 'FAILED' && t.data.plugin_id === 'sleeper',
      ),
    ).toBe(true);
    const byInput = (await acme.get('/tasks/?input_data=internet|retry.example.com')).body;
    expect(byInput.results.map((t: { data: { input_data: string } }) => t.data.input_data)).toEqual([
      'internet|retry.example.com',
    ]);
    expect(
      (await acme.get(`/tasks/?created_after=${new Date(Date.now() + 60_000).toISOString()}`)).body.results,
    ).toEqual([]);

    // created_before: strictly older; a bound in the middle splits the list where it should.
    const middle = all.results[Math.floor(all.results.length / 2)];
    const older = (await acme.get(`/tasks/?limit=500&created_before=${middle.created_at}`)).body.results;
    expect(older.map((t: { id: string }) => t.id)).toEqual(
      all.results
        .filter((t: { created_at: string }) => t.created_at < middle.created_at)
        .map((t: { id: string }) => t.id),
    );
    expect(older.length).toBeGreaterThan(0);
    // type and schedule_id narrow to exactly the tasks that have them.
    const rule = (await acme.post('/tasks/', { type: 'business_rule', data: { rule_id: 'all' } })).body;
    expect((await acme.get('/tasks/?type=business_rule')).body.results.map((t: { id: string }) => t.id)).toEqual([
      rule.id,
    ]);
    const set = (
      await acme.post('/object-sets/', { name: 'list filter', object_type: 'hostname', query: null, object_ids: [] })
    ).body;
    const schedule = (
      await acme.post('/schedules/', { plugin_id: 'echo', object_set_id: set.id, interval: 'P1D', enabled: false })
    ).body;
    const scheduleId: string = schedule.id;
    await environment.withDataSource((db) =>
      db.query(`UPDATE task SET schedule_id = $1 WHERE id = $2`, [scheduleId, middle.id]),
    );
    expect((await acme.get(`/tasks/?schedule_id=${scheduleId}`)).body.results.map((t: { id: string }) => t.id)).toEqual(
      [middle.id],
    );
  });

  it('serves the OpenAPI document generated from the DTOs, Swagger UI and health', async () => {
    const http = request(api.getHttpServer());
    const document = (await http.get('/api/docs-json').expect(200)).body;
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/tasks',
        '/api/v1/tasks/{id}',
        '/api/v1/tasks/{id}/run',
        '/api/v1/tasks/{id}/retry',
        '/api/v1/tasks/{id}/cancel',
        '/api/v1/tasks/{id}/logs',
        '/api/v1/plugins',
        '/api/v1/organizations',
        '/health/ready',
      ]),
    );
    expect(document.components.schemas.CreateTaskDto.properties.type.enum).toEqual([
      'plugin',
      'business_rule',
      'report',
    ]);
    expect((await http.get('/api/docs').expect(200)).text).toContain('swagger-ui');
    expect((await http.get('/health/ready').expect(200)).body.details).toEqual({
      database: { status: 'up' },
      redis: { status: 'up' },
    });
  });

  describe('a second tenant', () => {
    let other: ApiClient;
    let acmeTaskId: string;

    beforeAll(async () => {
      other = client(api, await environment.token('globex'));
      acmeTaskId = (await acme.get('/tasks/?limit=1')).body.results[0].id;
    });

    it("cannot see the first tenant's tasks", async () => {
      expect((await other.get('/tasks/')).body).toEqual({ results: [], next_cursor: null, count: 0 });
      for (const path of ['', 'logs/']) await other.get(`/tasks/${acmeTaskId}/${path}`).expect(404);
      await other.get('/tasks/?organization=acme').expect(403);
    });

    it("cannot cancel, retry or run the first tenant's tasks that their owner could, nor learn of them", async () => {
      const running = (await create('slow', 'internet|tenant-running.example.com')).body.id;
      const failed = (await finished((await create('broken', 'internet|tenant-failed.example.com')).body.id)).id;
      // In a back-off, so only a run (which ignores run_after) would queue it.
      const pending = await environment.taskInBackOff('acme', 'echo', 'internet|tenant-pending.example.com');
      await waitFor('the task to run', async () => (await acme.get(`/tasks/${running}/`)).body.status === 'RUNNING');

      const targets: Array<[string, string]> = [
        [running, 'cancel'],
        [pending, 'cancel'],
        [failed, 'retry'],
        [pending, 'run'],
      ];
      for (const [id, action] of targets) {
        const before = (await acme.get(`/tasks/${id}/`)).body;
        // The other tenant's token, and an admin acting for the other tenant.
        for (const path of [`/tasks/${id}/${action}/`, `/tasks/${id}/${action}/?organization=globex`]) {
          const response = await (path.includes('?') ? admin : other).post(path);
          const notFound = { statusCode: 404, error: 'Not Found', message: [`task ${id} does not exist`] };
          expect({ status: response.status, body: response.body }).toEqual({ status: 404, body: notFound });
        }
        expect((await acme.get(`/tasks/${id}/`)).body).toEqual(before);
      }
      expect(await pluginQueue().getJob(pending)).toBeNull();

      // Each was live: its owner can do what the other tenant could not.
      await acme.post(`/tasks/${running}/cancel/`).expect(200);
      await acme.post(`/tasks/${failed}/retry/`).expect(200);
      await acme.post(`/tasks/${pending}/run/`).expect(202);
      expect(await finished(pending)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
      expect(await finished(failed)).toMatchObject({ status: 'FAILED', attempts: 2 });
    });

    it('an admin token sees every organization, or one with ?organization=', async () => {
      const created = await other
        .post('/tasks/', { type: 'plugin', data: { plugin_id: 'echo', input_data: 'internet|globex.example' } })
        .expect(201);
      await finished(created.body.id, other);
      const everyone = (await admin.get('/tasks/?limit=500')).body.results.map(
        (t: { organization: string }) => t.organization,
      );
      expect(new Set(everyone)).toEqual(new Set(['acme', 'globex']));
      const globex = (await admin.get('/tasks/?organization=globex')).body.results;
      expect(globex.map((t: { id: string }) => t.id)).toEqual([created.body.id]);
      await admin.get(`/tasks/${acmeTaskId}/?organization=globex`).expect(404);
      await admin.get('/tasks/?organization=nope').expect(400);
      // The narrowing was for those requests only (the token's caller is cached, never changed).
      const again = (await admin.get('/tasks/?limit=500')).body.results.map(
        (t: { organization: string }) => t.organization,
      );
      expect(new Set(again)).toEqual(new Set(['acme', 'globex']));
    });

    it('sees its own task as its own, whoever else exists', async () => {
      const own = (await other.post('/tasks/', { type: 'business_rule', data: { rule_id: 'all' } })).body;
      expect(own.organization).toBe('globex');
      expect((await other.get(`/tasks/${own.id}/`)).body).toMatchObject({ id: own.id, organization: 'globex' });
      const slow = await other.post('/tasks/', {
        type: 'plugin',
        data: { plugin_id: 'slow', input_data: 'internet|globex-own.example.com' },
      });
      const cancelled = (await other.post(`/tasks/${slow.body.id}/cancel/`).expect(200)).body;
      expect(cancelled).toMatchObject({ id: slow.body.id, status: 'CANCELLED', organization: 'globex' });
    });
    it('keeps organizations apart when their POSTs for the same input are made at once', async () => {
      const input = 'internet|both-at-once.example.com';
      const [mine, theirs] = await Promise.all([
        create('slow', input),
        other.post('/tasks/', { type: 'plugin', data: { plugin_id: 'slow', input_data: input }, priority: 2 }),
      ]);
      expect([mine.status, theirs.status]).toEqual([201, 201]);
      expect(mine.body).toMatchObject({ organization: 'acme', priority: 3 });
      expect(theirs.body).toMatchObject({ organization: 'globex', priority: 2 });
      expect(theirs.body.id).not.toBe(mine.body.id);
      await acme.post(`/tasks/${mine.body.id}/cancel/`).expect(200);
      await other.post(`/tasks/${theirs.body.id}/cancel/`).expect(200);
    });
  });

  describe('bad input', () => {
    it('needs a valid token', async () => {
      await client(api, 'kat_not-a-token').get('/tasks/').expect(401);
      const response = await client(api, '').get('/tasks/').set('Authorization', 'Basic x');
      expect(response.status).toBe(401);
      expect(response.body.message).toEqual(['Authorization header must be "Bearer <token>"']);
    });

    it.each([
      [{ type: 'scan', data: {} }, 'type must be one of: plugin, business_rule, report'],
      [{ type: 'plugin' }, 'data must be an object'],
      [{ type: 'plugin', data: { plugin_id: 'echo' } }, 'data.input_data must be a string'],
      [
        { type: 'plugin', data: { plugin_id: 'nmap', input_data: 'internet|example.com' } },
        'data.plugin_id: unknown plugin nmap',
      ],
      [
        { type: 'plugin', data: { plugin_id: 'echo', input_data: 'example.com' } },
        'data.input_data: echo consumes hostname, and "example.com" is none: ' +
          'a hostname key has 2 fields (network|name)',
      ],
      [
        { type: 'plugin', data: { plugin_id: 'echo', input_data: 'internet|bad host!' } },
        'data.input_data: echo consumes hostname, and "internet|bad host!" is none: ' +
          'hostname field name must be a DNS name',
      ],
      [
        { type: 'plugin', data: { plugin_id: 'echo', input_data: 'internet|a.example', extra: 1 } },
        'data.property extra should not exist',
      ],
      [
        { type: 'plugin', data: { plugin_id: 'echo', input_data: 'internet|a.example' }, status: 'COMPLETED' },
        'property status should not exist',
      ],
      [
        { type: 'business_rule', data: { rule_id: 'nope' } },
        'data.rule_id: unknown business rule "nope"; the rules are all, check_ssl_expiry, missing_spf, ' +
          'missing_dmarc, missing_caa, open_database_port, open_sysadmin_port, missing_security_headers',
      ],
      [{ type: 'report', data: {} }, 'data.report_type: unknown report type null; the types are findings_summary'],
      [
        {
          type: 'report',
          data: { report_type: 'findings_summary', object_set_id: '00000000-0000-4000-8000-000000000000' },
        },
        'data.object_set_id: object set 00000000-0000-4000-8000-000000000000 does not exist',
      ],
    ])('rejects %j with 400', async (body, message) => {
      const before = (await acme.get('/tasks/?limit=500')).body.count;
      const response = await acme.post('/tasks/', body);
      expect(response.status).toBe(400);
      expect(response.body.message).toContain(message);
      expect((await acme.get('/tasks/?limit=500')).body.count).toBe(before);
    });

    it('answers 400 for a malformed id, 404 for an unknown one, 409 for a wrong status', async () => {
      expect((await acme.get('/tasks/not-a-uuid/')).body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: ['id must be a UUID'],
      });
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await acme.get(`/tasks/${unknown}/`)).body.message).toEqual([`task ${unknown} does not exist`]);
      await acme.post(`/tasks/${unknown}/cancel/`).expect(404);
      const completed = (await acme.get('/tasks/?status=COMPLETED&limit=1')).body.results[0];
      const conflict = await acme.post(`/tasks/${completed.id}/cancel/`).expect(409);
      expect(conflict.body.message).toEqual([
        `task ${completed.id} is COMPLETED; only a PENDING or RUNNING task can be cancelled`,
      ]);
      await acme.post(`/tasks/${completed.id}/retry/`).expect(409);
      await acme.post(`/tasks/${completed.id}/run/`).expect(409);
      await acme.get('/tasks/?status=DONE').expect(400);
      await acme.get('/tasks/?limit=501').expect(400);
      expect((await acme.get('/tasks/?cursor=garbage')).body.message).toEqual([
        'cursor must be a next_cursor value from a previous page',
      ]);
    });

    it('keeps the plugin catalogue to admins and validates it', async () => {
      await acme
        .post('/plugins/', { plugin_id: 'x', name: 'x', image: 'i', command: ['a'], consumes: ['hostname'] })
        .expect(403);
      const bad = await admin.post('/plugins/', {
        plugin_id: 'Bad Id',
        name: 'x',
        image: 'i',
        command: [],
        consumes: ['planet'],
        timeout_seconds: 0,
      });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toEqual(
        expect.arrayContaining([
          'plugin_id must be lower-case letters, digits, _ or - (at most 64)',
          'command must contain at least 1 elements',
          expect.stringContaining('consumes must contain only'),
          'timeout_seconds must not be less than 1',
        ]),
      );
      await admin
        .post('/plugins/', { plugin_id: 'echo', name: 'x', image: 'i', command: ['a'], consumes: ['hostname'] })
        .expect(409);
      expect((await acme.get('/plugins/')).body.results.map((p: { plugin_id: string }) => p.plugin_id)).toContain(
        'echo',
      );
      await acme.get('/plugins/nope/').expect(404);
    });

    it('keeps organizations to admins', async () => {
      await acme.get('/organizations/').expect(403);
      await admin.post('/organizations/', { code: 'Not A Slug', name: 'x' }).expect(400);
      await admin.post('/organizations/', { code: 'initech', name: 'Initech' }).expect(201);
      await admin.post('/organizations/', { code: 'initech', name: 'Initech' }).expect(409);
      expect((await admin.get('/organizations/')).body.results.map((o: { code: string }) => o.code)).toEqual([
        'acme',
        'globex',
        'initech',
      ]);
    });

    it('answers one 201 then 409s, never a 500, when the same organization or plugin is created at once', async () => {
      const plugin = {
        plugin_id: 'twice',
        name: 'twice',
        image: 'kat-busybox:latest',
        command: ['true'],
        consumes: ['hostname'],
      };
      for (const create of [
        () => admin.post('/organizations/', { code: 'twice', name: 'Twice' }),
        () => admin.post('/plugins/', plugin),
      ]) {
        const responses = await Promise.all(Array.from({ length: 6 }, () => create()));
        const statuses = responses.map((r) => r.status).sort();
        expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
        const refused = responses.find((r) => r.status === 409)!;
        expect(refused.body.message).toEqual([expect.stringMatching(/^(code|plugin_id): .* twice exists already$/)]);
      }
    });

    it('makes an admin name the organization a task is for', async () => {
      const response = await admin.post('/tasks/', {
        type: 'plugin',
        data: { plugin_id: 'echo', input_data: 'internet|a.example' },
      });
      expect(response.status).toBe(400);
      expect(response.body.message).toEqual(['organization: an admin token must name one with ?organization=<code>']);
    });
  });
});
