import { INestApplication } from '@nestjs/common';
import { seed, TaskRepository, TaskType } from '@kat/domain';
import { DataSource } from 'typeorm';
import request from 'supertest';
import { ApiClient, client, exited, spawnApp, startApi } from './support/apps';
import { TestEnvironment } from './support/environment';
import { BUSYBOX_IMAGE } from './support/plugins';
import { openApiRoutes } from './support/route-inventory';
import { signIn } from './support/web-session';

/** What one audited write does through the API, and the entry it must leave. */
interface AuditedCall {
  call: () => Promise<request.Response>;
  action: string;
  /** The target id the entry names (a function: some ids exist only once earlier calls ran). */
  target?: () => string | null;
  organization: string | null;
  changes?: Record<string, unknown>;
}

/** Writes that leave no entry, and why. */
const NOT_AUDITED: Record<string, string> = {
  'POST /api/v1/objects/{type}': 'objects are data that plugins and integrations send, not operator actions',
};

/**
 * The audit log: every operator action through the API, the pages and the CLI leaves one entry
 * with its actor, organization, target and what changed; an organization reads its own entries,
 * admins all; entries cannot be changed. The table of calls is checked against the OpenAPI
 * document, so a new write route needs an entry here (or a reason in NOT_AUDITED).
 */
describe('audit log', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let admin: ApiClient;
  let acme: ApiClient;
  let acmeAdmin: ApiClient;
  let globex: ApiClient;
  const made: Record<string, string> = {};

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.withDataSource((db) => seed(db));
    api = await startApi(environment.settings());
    admin = client(api, await environment.token('root', { admin: true }));
    acme = client(api, await environment.token('acme'));
    acmeAdmin = client(api, await environment.token('acme', { access: 'admin' }));
    globex = client(api, await environment.token('globex'));
  });

  afterAll(async () => {
    await api?.close();
    await environment?.destroy();
  });

  /** acme's newest entry of that action, as acme reads it. */
  const entryOf = async (action: string, reader: ApiClient = acme) => {
    const { body } = await reader.get(`/audit-log/?action=${encodeURIComponent(action)}`).expect(200);
    return body.results[0];
  };

  const acmeTask = (status: 'PENDING' | 'FAILED', name: string) =>
    environment.withDataSource(async (db) => {
      const [row] = await db.query(
        `INSERT INTO task (organization_id, type, data, status, run_after)
         SELECT id, 'plugin', jsonb_build_object('plugin_id', 'dns_records', 'input_data', 'internet|' || $2::text),
                $1, now() + interval '1 hour'
         FROM organization WHERE code = 'acme' RETURNING id`,
        [status, name],
      );
      return row.id as string;
    });

  const calls = (): Record<string, AuditedCall> => ({
    'POST /api/v1/organizations': {
      call: () => admin.post('/organizations/', { code: 'initech', name: 'Initech' }),
      action: 'organization.create',
      target: () => 'initech',
      organization: 'initech',
      changes: { code: 'initech', name: 'Initech' },
    },
    'POST /api/v1/plugins': {
      call: () =>
        admin.post('/plugins/', {
          plugin_id: 'audited',
          name: 'audited',
          image: BUSYBOX_IMAGE,
          command: ['true'],
          consumes: ['hostname'],
        }),
      action: 'plugin.create',
      target: () => 'audited',
      organization: null,
    },
    'PATCH /api/v1/plugins/{plugin_id}': {
      call: () => admin.patch('/plugins/audited/', { enabled: false }),
      action: 'plugin.update',
      target: () => 'audited',
      organization: null,
      changes: { enabled: false },
    },
    'PATCH /api/v1/plugins/{plugin_id}/settings': {
      call: () => acme.patch('/plugins/dns_records/settings/', { settings: { API_KEY: 'the-secret-value' } }),
      action: 'plugin.settings.update',
      target: () => 'dns_records',
      organization: 'acme',
      changes: { API_KEY: 'set' },
    },
    'POST /api/v1/tasks': {
      call: async () => {
        const response = await acme.post('/tasks/', {
          type: 'plugin',
          data: { plugin_id: 'dns_records', input_data: 'internet|audited.example' },
        });
        made.created = response.body.id;
        return response;
      },
      action: 'task.create',
      target: () => made.created,
      organization: 'acme',
      changes: { type: 'plugin', priority: 3 },
    },
    'POST /api/v1/tasks/bulk': {
      call: () =>
        acme.post('/tasks/bulk/', {
          tasks: [
            { plugin_id: 'dns_records', input_data: 'internet|bulk-1.example' },
            { plugin_id: 'dns_records', input_data: 'internet|bulk-2.example' },
          ],
        }),
      action: 'task.create_bulk',
      target: () => null,
      organization: 'acme',
      changes: { created: 2, asked: 2 },
    },
    'POST /api/v1/tasks/{id}/run': {
      call: async () => acme.post(`/tasks/${(made.waiting = await acmeTask('PENDING', 'run.example'))}/run/`),
      action: 'task.run',
      target: () => made.waiting,
      organization: 'acme',
    },
    'POST /api/v1/tasks/retry': {
      call: async () => {
        await acmeTask('FAILED', 'bulk-retry.example');
        return acme.post('/tasks/retry/', { input_data: 'internet|bulk-retry.example' });
      },
      action: 'task.retry_bulk',
      target: () => null,
      organization: 'acme',
      changes: { filters: { input_data: 'internet|bulk-retry.example' }, count: 1 },
    },
    'POST /api/v1/tasks/cancel': {
      call: async () => {
        await acmeTask('PENDING', 'bulk-cancel.example');
        return acme.post('/tasks/cancel/', { input_data: 'internet|bulk-cancel.example' });
      },
      action: 'task.cancel_bulk',
      target: () => null,
      organization: 'acme',
      changes: { filters: { input_data: 'internet|bulk-cancel.example' }, count: 1 },
    },
    'POST /api/v1/tasks/{id}/retry': {
      call: async () => acme.post(`/tasks/${(made.failed = await acmeTask('FAILED', 'retry.example'))}/retry/`),
      action: 'task.retry',
      target: () => made.failed,
      organization: 'acme',
    },
    'POST /api/v1/tasks/{id}/cancel': {
      call: async () => acme.post(`/tasks/${(made.cancelled = await acmeTask('PENDING', 'cancel.example'))}/cancel/`),
      action: 'task.cancel',
      target: () => made.cancelled,
      organization: 'acme',
    },
    'POST /api/v1/object-sets': {
      call: async () => {
        const response = await acme.post('/object-sets/', { name: 'audited', object_type: 'hostname', query: '' });
        made.set = response.body.id;
        return response;
      },
      action: 'object_set.create',
      target: () => made.set,
      organization: 'acme',
      changes: { name: 'audited' },
    },
    'PATCH /api/v1/object-sets/{id}': {
      call: () => acme.patch(`/object-sets/${made.set}/`, { name: 'renamed' }),
      action: 'object_set.update',
      target: () => made.set,
      organization: 'acme',
      changes: { name: 'renamed' },
    },
    'POST /api/v1/schedules': {
      call: async () => {
        const body = { plugin_id: 'dns_records', object_set_id: made.set, interval: 'PT1H' };
        const response = await acme.post('/schedules/', body);
        made.schedule = response.body.id;
        return response;
      },
      action: 'schedule.create',
      target: () => made.schedule,
      organization: 'acme',
      changes: { interval: 'PT1H' },
    },
    'PATCH /api/v1/schedules/{id}': {
      call: () => acme.patch(`/schedules/${made.schedule}/`, { enabled: false }),
      action: 'schedule.update',
      target: () => made.schedule,
      organization: 'acme',
      changes: { enabled: false },
    },
    'POST /api/v1/schedules/{id}/run': {
      call: () => acme.post(`/schedules/${made.schedule}/run/`),
      action: 'schedule.run',
      target: () => made.schedule,
      organization: 'acme',
      changes: { tasks_created: 0 },
    },
    'DELETE /api/v1/schedules/{id}': {
      call: () => acme.delete(`/schedules/${made.schedule}/`),
      action: 'schedule.delete',
      target: () => made.schedule,
      organization: 'acme',
    },
    'DELETE /api/v1/object-sets/{id}': {
      call: () => acme.delete(`/object-sets/${made.set}/`),
      action: 'object_set.delete',
      target: () => made.set,
      organization: 'acme',
      changes: { name: 'renamed' },
    },
    'DELETE /api/v1/objects/{type}/{pk}': {
      call: async () => {
        await acme.post('/objects/hostname/', { network: 'internet', name: 'gone.example' }).expect(201);
        return acme.delete(`/objects/hostname/${encodeURIComponent('internet|gone.example')}/`);
      },
      action: 'object.delete',
      target: () => 'hostname|internet|gone.example',
      organization: 'acme',
    },
    'PATCH /api/v1/business-rules/{rule_id}': {
      call: () => acme.patch('/business-rules/missing_spf/', { enabled: false }),
      action: 'business_rule.update',
      target: () => 'missing_spf',
      organization: 'acme',
      changes: { enabled: false },
    },
    'POST /api/v1/business-rules/{rule_id}/run': {
      call: () => acme.post('/business-rules/check_ssl_expiry/run/'),
      action: 'business_rule.run',
      target: () => 'check_ssl_expiry',
      organization: 'acme',
    },
    'PATCH /api/v1/scheduler': {
      call: () => admin.patch('/scheduler/', { enabled: false }),
      action: 'scheduler.update',
      target: () => null,
      organization: null,
      changes: { enabled: false },
    },
    'PATCH /api/v1/scheduler/jobs/{name}': {
      call: () => admin.patch('/scheduler/jobs/run-business-rules/', { enabled: false }),
      action: 'scheduler.job.update',
      target: () => 'run-business-rules',
      organization: null,
      changes: { enabled: false },
    },
    'POST /api/v1/tokens': {
      call: async () => {
        const response = await acmeAdmin.post('/tokens/', { name: 'audited token', access: 'read' });
        made.token = String(response.body.id);
        return response;
      },
      action: 'token.create',
      target: () => made.token,
      organization: 'acme',
      changes: { name: 'audited token', access: 'read' },
    },
    'DELETE /api/v1/tokens/{id}': {
      call: () => acmeAdmin.delete(`/tokens/${made.token}/`),
      action: 'token.revoke',
      target: () => made.token,
      organization: 'acme',
    },
  });

  it('has a case for every write route of the OpenAPI document', async () => {
    const writes = (await openApiRoutes(api)).filter((route) => !route.startsWith('GET '));
    const covered = [...Object.keys(calls()), ...Object.keys(NOT_AUDITED)];
    expect(writes.filter((route) => !covered.includes(route))).toEqual([]);
    expect(covered.filter((route) => !writes.includes(route))).toEqual([]);
  });

  it('records each action once, with its actor, organization, target and what changed', async () => {
    for (const [route, audited] of Object.entries(calls())) {
      const before = await environment.withDataSource((db) => db.query(`SELECT count(*)::int AS n FROM audit_entry`));
      const response = await audited.call();
      expect({ route, status: response.status < 300 }).toEqual({ route, status: true });
      const entries = await environment.withDataSource((db) =>
        db.query(`SELECT * FROM audit_entry ORDER BY id OFFSET $1`, [before[0].n]),
      );
      expect({ route, actions: entries.map((e: { action: string }) => e.action) }).toEqual({
        route,
        actions: [audited.action],
      });
      const [entry] = entries;
      expect({ route, entry }).toMatchObject({
        route,
        entry: {
          organization_code: audited.organization,
          target_id: audited.target ? audited.target() : expect.anything(),
          via: 'api',
          actor: expect.stringMatching(/^token \d+ \(test\)$/),
          changes: expect.objectContaining(audited.changes ?? {}),
        },
      });
      expect(entry.actor_token_id).toEqual(expect.any(Number));
    }
  });

  it("records a task's creation once, as the first caller who asked for it, in the task's own commit", async () => {
    const entriesFor = (db: DataSource, id: string) =>
      db.query(`SELECT actor_token_id, actor, organization_code FROM audit_entry WHERE target_id = $1`, [id]);
    await environment.withDataSource(async (db) => {
      const tasks = new TaskRepository(db);
      const [{ id: organizationId }] = await db.query(`SELECT id FROM organization WHERE code = 'acme'`);
      const wanted = {
        organization_id: organizationId,
        type: TaskType.PLUGIN,
        data: { plugin_id: 'dns_records', input_data: 'internet|asked-twice.example' },
      };
      const as = (id: number) => ({ actor_token_id: id, actor: `token ${id} (test)`, via: 'api' as const });
      // Asked for in the same turn, both go in one statement: the first caller creates it.
      const [first, second] = await Promise.all([tasks.create(wanted, {}, as(1)), tasks.create(wanted, {}, as(2))]);
      expect([first.created, second.created, second.task.id]).toEqual([true, false, first.task.id]);
      expect(await entriesFor(db, first.task.id)).toEqual([
        { actor_token_id: 1, actor: 'token 1 (test)', organization_code: 'acme' },
      ]);
      // Asked for again while active: the task is given back, and nothing more is recorded.
      expect(await tasks.create(wanted, {}, as(3))).toMatchObject({ created: false, task: { id: first.task.id } });
      expect(await entriesFor(db, first.task.id)).toHaveLength(1);
      // An entry the database refuses (via must be api, web or cli) leaves no task either.
      const refused = { ...wanted, data: { ...wanted.data, input_data: 'internet|unaudited.example' } };
      await expect(tasks.create(refused, {}, { ...as(4), via: 'mail' as 'api' })).rejects.toThrow(
        /audit_entry_via_check/,
      );
      expect(await db.query(`SELECT id FROM task WHERE data->>'input_data' = 'internet|unaudited.example'`)).toEqual(
        [],
      );
    });
  });

  it('never records a secret: plugin settings are named, their values are not', async () => {
    await admin.patch('/plugins/audited/', { settings: { api_key: 'the-global-secret' } }).expect(200);
    expect((await entryOf('plugin.update', admin)).changes).toEqual({ settings: ['api_key'] });
    const entries = await environment.withDataSource((db) => db.query(`SELECT changes::text FROM audit_entry`));
    expect(JSON.stringify(entries)).not.toContain('the-secret-value');
    expect(JSON.stringify(entries)).not.toContain('the-global-secret');
  });

  it('records nothing for a refused action', async () => {
    const count = () => environment.withDataSource((db) => db.query(`SELECT count(*)::int AS n FROM audit_entry`));
    const before = await count();
    const task = await acmeTask('PENDING', 'refused.example');
    await globex.post(`/tasks/${task}/cancel/`).expect(404);
    await acme.post(`/tasks/${made.created}/retry/`).expect(409);
    await acme.patch('/business-rules/no-such-rule/', { enabled: true }).expect(404);
    expect(await count()).toEqual(before);
  });

  it("shows an organization its own entries only, and admins every organization's", async () => {
    await globex.post('/object-sets/', { name: 'globex set', object_type: 'hostname', query: '' }).expect(201);
    const own = await acme.get('/audit-log/?limit=500').expect(200);
    expect(own.body.results.length).toBeGreaterThan(10);
    expect(own.body.results.every((e: { organization: string }) => e.organization === 'acme')).toBe(true);
    const theirs = await globex.get('/audit-log/?limit=500').expect(200);
    expect(theirs.body.results.map((e: { action: string }) => e.action)).toEqual(['object_set.create']);
    expect(JSON.stringify(theirs.body)).not.toContain('acme');
    const all = await admin.get('/audit-log/?limit=500').expect(200);
    const organizations = new Set(all.body.results.map((e: { organization: string | null }) => e.organization));
    expect(organizations).toEqual(new Set(['acme', 'globex', 'initech', null]));
    const scoped = await admin.get('/audit-log/?organization=globex').expect(200);
    expect(scoped.body.results).toHaveLength(1);
    // Pages of 5, newest first, with a cursor.
    const first = await acme.get('/audit-log/?limit=5').expect(200);
    const second = await acme.get(`/audit-log/?limit=5&cursor=${first.body.next_cursor}`).expect(200);
    const ids = [...first.body.results, ...second.body.results].map((e: { id: string }) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(10);
  });

  it("records the queue dashboard's changes, and refuses them to a read-only admin token", async () => {
    const pause = (token: string) =>
      request(api.getHttpServer()).put('/admin/queues/api/queues/plugin/pause').set('Authorization', `Bearer ${token}`);
    const reader = await environment.token('root', { admin: true, access: 'read' });
    const refused = await pause(reader);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toEqual(['this token is read-only: PUT needs a token with write access']);
    await request(api.getHttpServer())
      .get('/admin/queues/api/queues')
      .set('Authorization', `Bearer ${reader}`)
      .expect(200);
    const writer = await environment.token('root', { admin: true });
    expect((await pause(writer)).status).toBeLessThan(300);
    expect(await entryOf('queue.change', admin)).toMatchObject({
      target_id: '/api/queues/plugin/pause',
      changes: { method: 'PUT' },
      organization: null,
    });
    await request(api.getHttpServer())
      .put('/admin/queues/api/queues/plugin/resume')
      .set('Authorization', `Bearer ${writer}`)
      .expect((r) => expect(r.status).toBeLessThan(300));
  });

  it('keeps entries append-only: the database refuses to change or delete one', async () => {
    for (const statement of [`UPDATE audit_entry SET actor = 'someone else'`, `DELETE FROM audit_entry`]) {
      await expect(environment.withDataSource((db) => db.query(statement))).rejects.toThrow(/append-only/);
    }
    await expect(environment.withDataSource((db) => db.query(`TRUNCATE audit_entry`))).rejects.toThrow(/append-only/);
  });

  it('records the pages\' actions as "web" and the CLI\'s as "cli"', async () => {
    const session = await signIn(api.getHttpServer(), await environment.token('acme'));
    const task = await acmeTask('PENDING', 'web-cancel.example');
    await request(api.getHttpServer())
      .post(`/tasks/${task}/cancel`)
      .set('Cookie', session.cookie)
      .type('form')
      .send({ csrf: session.csrf })
      .expect(303);
    expect(await entryOf('task.cancel')).toMatchObject({ via: 'web', target_id: task, organization: 'acme' });
    const page = await request(api.getHttpServer()).get('/audit-log/').set('Cookie', session.cookie).expect(200);
    expect(page.text).toContain('task.cancel');
    expect(page.text).not.toContain('globex set');

    const cli = spawnApp('cli/main', environment.processEnv(), ['create-token', '--org', 'acme', '--name', 'from cli']);
    expect(await exited(cli)).toBe(0);
    const created = await entryOf('token.create');
    expect(created).toMatchObject({
      via: 'cli',
      actor: expect.stringMatching(/^cli \(/),
      actor_token_id: null,
      changes: expect.objectContaining({ name: 'from cli', access: 'write' }),
    });
    // The entry names the token the CLI made.
    expect((await acmeAdmin.get(`/tokens/${created.target_id}/`).expect(200)).body).toMatchObject({ name: 'from cli' });
  });
});
