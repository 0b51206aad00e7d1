import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ApiClient, client, startApi } from './support/apps';
import { TestEnvironment } from './support/environment';
import { OrganizationRows, Rows } from './support/organization-rows';
import { signIn, signInForm } from './support/web-session';

/**
 * Hostile input that reached PostgreSQL or the framework and came back as a 500: each now gets a
 * 4xx whose message names the field, and the stored data is as before.
 */
describe('bad input', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let acme: ApiClient;
  let admin: ApiClient;
  let rows: OrganizationRows;
  let acmeId: number;
  let before: Rows;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    acme = client(api, await environment.token('acme'));
    admin = client(api, await environment.token('acme', { admin: true }));
    rows = await OrganizationRows.open(environment.databaseUrl, { api_token: ['last_used_at'] });
    [{ id: acmeId }] = await rows.query<{ id: number }>(`SELECT id FROM organization WHERE code = 'acme'`);
    await acme.post('/object-sets/', { name: 'hosts', object_type: 'hostname', query: null, object_ids: [] });
  });

  beforeEach(async () => {
    before = await rows.snapshot(acmeId);
  });

  afterEach(async () => {
    expect(OrganizationRows.changes(before, await rows.snapshot(acmeId))).toEqual({});
  });

  afterAll(async () => {
    await rows?.close();
    await api?.close();
    await environment?.destroy();
  });

  const NUL = '\u0000';
  const cursorOf = (position: object) => Buffer.from(JSON.stringify(position)).toString('base64url');
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

  it.each([
    [
      'a NUL in a body string',
      () => acme.post('/tasks/', { type: 'plugin', data: { plugin_id: `a${NUL}`, input_data: 'x' } }),
      'data.plugin_id',
    ],
    [
      'a NUL in an object set name',
      () => acme.post('/object-sets/', { name: `n${NUL}`, object_type: 'hostname', query: null, object_ids: [] }),
      'name',
    ],
    ['a NUL in a filter', () => acme.get(`/tasks/?plugin_id=a%00b`), 'plugin_id'],
    ['a NUL in an object key', () => acme.get(`/objects/hostname/internet%7Ca%00b/`), 'path'],
    [
      'a NUL in an object query',
      () =>
        acme.post('/object-sets/', { name: 'q', object_type: 'hostname', query: `name = "a${NUL}"`, object_ids: [] }),
      'query',
    ],
    ['a NUL in an organization code', () => admin.post('/organizations/', { code: `o${NUL}`, name: 'x' }), 'code'],
    [
      'a NUL in a plugin name',
      () =>
        admin.post('/plugins/', {
          plugin_id: 'nul',
          name: `n${NUL}`,
          image: 'i',
          command: ['x'],
          consumes: ['hostname'],
        }),
      'name',
    ],
    [
      'a __proto__ key in a task',
      () => acme.post('/tasks/', JSON.parse('{"type": "plugin", "data": {}, "__proto__": {"x": 1}}')),
      '__proto__',
    ],
    [
      'a __proto__ key in task data',
      () => acme.post('/tasks/', JSON.parse('{"type": "plugin", "data": {"__proto__": {"x": 1}}}')),
      'data.__proto__',
    ],
    [
      'a year PostgreSQL cannot store',
      () => acme.get('/tasks/?created_after=-271821-04-20T00:00:00Z'),
      'created_after',
    ],
    [
      'an interval PostgreSQL cannot store',
      () =>
        acme.post('/schedules/', {
          plugin_id: 'hello',
          object_set_id: '00000000-0000-4000-8000-000000000000',
          interval: 1e20,
        }),
      'interval',
    ],
    ['a NUL in a query of the health check', () => request(api.getHttpServer()).get('/health?probe=a%00b'), 'probe'],
    [
      'a NUL in a query of the readiness check',
      () => request(api.getHttpServer()).get('/health/ready?probe=a%00b'),
      'probe',
    ],
    [
      'a forged cursor whose date is no date',
      () => acme.get(`/tasks/?cursor=${cursorOf({ c: 'yesterday', i: '00000000-0000-4000-8000-000000000000' })}`),
      'cursor',
    ],
  ])('answers 400 for %s, naming it', async (_, send, field) => {
    const response = await send();
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body.message)).toContain(field);
  });

  it('answers 400 for JSON nested ten thousand levels deep', async () => {
    const body = `{"type": "plugin", "data": {"plugin_id": ${deep(10_000)}}}`;
    const response = await acme.post('/tasks/', body as unknown as object).set('Content-Type', 'application/json');
    expect(response.status).toBe(400);
    expect(response.body.message).toEqual(['body: nested deeper than 32 levels']);
  });

  it('answers 415 for a JSON body in a charset the body parser cannot read', async () => {
    const response = await acme
      .post('/tasks/', '{"type": "plugin", "data": {}}' as unknown as object)
      .set('Content-Type', 'application/json; charset=latin1');
    expect(response.status).toBe(415);
    expect(response.body.message).toEqual(['unsupported charset "LATIN1"']);
  });

  describe('pages', () => {
    let session: string;
    beforeAll(async () => {
      session = (await signIn(api.getHttpServer(), await environment.token('acme'))).cookie;
    });

    it.each(['/tasks/not-a-uuid/', '/reports/x/'])('answers 404 for %s', async (path) => {
      const response = await request(api.getHttpServer()).get(path).set('Cookie', session);
      expect(response.status).toBe(404);
      expect(response.text).toContain('Not found');
    });

    it('answers 400 for a NUL in a page path, before any page runs', async () => {
      const response = await request(api.getHttpServer()).get('/tasks/%00/').set('Cookie', session);
      expect(response.status).toBe(400);
      expect(response.body.message).toEqual(['path: must not contain the NUL character']);
    });

    it('answers 413 for a sign-in form of a megabyte', async () => {
      const form = await signInForm(api.getHttpServer());
      const response = await request(api.getHttpServer())
        .post('/sign-in')
        .set('Cookie', form.cookie)
        .type('form')
        .send({ sign_in: form.field, token: 'x'.repeat(1024 * 1024) });
      expect(response.status).toBe(413);
    });
  });
});
