import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { ApiClient, client, exited, spawnApp, startApi } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { OrganizationRows } from './support/organization-rows';
import { registerShellPlugin } from './support/plugins';
import { freePort } from './support/free-port';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const MASK = '********';
const GLOBAL_KEY = 'global-default-key';

/**
 * Per-organization plugin settings, from the API to the container, with the api and the worker
 * running as their own processes (the built apps, logging everything) so that their output can
 * be searched: a secret reaches its organization's containers only, and shows in no response, no
 * stored log, no process output and no row in the clear.
 */
describe('per-organization plugin settings', () => {
  let environment: TestEnvironment;
  let apps: Array<ReturnType<typeof spawnApp>>;
  let rows: OrganizationRows;
  let admin: ApiClient;
  let acme: ApiClient;
  let globex: ApiClient;
  let initech: ApiClient;
  let umbrella: ApiClient;
  /** Every response body the test received, to search for secrets at the end. */
  const seen: string[] = [];
  const acmeSecret = `acme-${randomBytes(16).toString('hex')}`;
  const initechSecret = `initech-${randomBytes(16).toString('hex')}`;
  const otherSecret = `other-${randomBytes(16).toString('hex')}`;
  const globexSecret = `globex-${randomBytes(16).toString('hex')}`;
  const umbrellaSecret = `umbrella-${randomBytes(16).toString('hex')}`;
  const secrets = [acmeSecret, initechSecret, otherSecret, globexSecret, umbrellaSecret];

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    const port = await freePort();
    const env = environment.processEnv({ PORT: String(port), LOG_LEVEL: 'verbose' });
    apps = [spawnApp('api/main', env), spawnApp('worker/main', env)];
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the api', async () => (await fetch(`${url}/health/ready`)).ok, 30_000);
    admin = recording(url, await environment.token('acme', { admin: true }));
    acme = recording(url, await environment.token('acme'));
    globex = recording(url, await environment.token('globex'));
    initech = recording(url, await environment.token('initech'));
    umbrella = recording(url, await environment.token('umbrella'));
    // Moving by themselves: each worker's seen_at, and a token's last use (at most once a minute).
    rows = await OrganizationRows.open(environment.databaseUrl, {
      dispatch_worker: ['seen_at'],
      api_token: ['last_used_at'],
    });

    const settings = { settings: { api_key: GLOBAL_KEY, region: 'eu' } };
    // Proves what it got: its key on stderr, the key's hash in an object, whether it sees another plugin's setting.
    await registerShellPlugin(
      admin,
      'secret-echo',
      [
        'echo "key=$KAT_SETTING_API_KEY region=$KAT_SETTING_REGION other=${KAT_SETTING_OTHER_ONLY:-unset}" >&2',
        'h=$(printf %s "$KAT_SETTING_API_KEY" | sha256sum | cut -d" " -f1)',
        `echo '{"object_type": "dnsrecord", "network": "internet", "hostname": "{name}", "record_type": "TXT", ` +
          `"value": "sha256='$h'"}'`,
      ].join('\n'),
      settings,
    );
    await registerShellPlugin(admin, 'secret-fail', 'echo "refused: $KAT_SETTING_API_KEY" >&2; exit 3', settings);
    await registerShellPlugin(admin, 'secret-bad-line', 'echo "not an object $KAT_SETTING_API_KEY"', settings);
    await registerShellPlugin(admin, 'other-plugin', 'true');
  });

  afterAll(async () => {
    for (const app of apps ?? []) {
      app.kill('SIGTERM');
      await exited(app);
    }
    await rows?.close();
    await environment?.destroy();
  });

  /** An API client whose every response body is kept in `seen`. */
  function recording(url: string, token: string): ApiClient {
    const http = request(url);
    const auth = { Authorization: `Bearer ${token}` };
    const keep = <T extends request.Test>(test: T): T => {
      test.on('response', (response: { text?: string }) => seen.push(response.text ?? ''));
      return test;
    };
    return {
      get: (path: string) => keep(http.get(`/api/v1${path}`).set(auth)),
      post: (path: string, body?: object) =>
        keep(
          http
            .post(`/api/v1${path}`)
            .set(auth)
            .send(body ?? {}),
        ),
      patch: (path: string, body: object) => keep(http.patch(`/api/v1${path}`).set(auth).send(body)),
      delete: (path: string) => keep(http.delete(`/api/v1${path}`).set(auth)),
    };
  }

  const names = (body: { settings: Array<{ name: string }> }) => body.settings.map((s) => s.name);

  /** Runs `pluginId` for the organization of `api` on `name`; returns the ended task, its log and the hash it saw. */
  async function run(api: ApiClient, pluginId: string, name: string) {
    const { body: created } = await api
      .post('/tasks/', { type: 'plugin', data: { plugin_id: pluginId, input_data: `internet|${name}` } })
      .expect(201);
    const task = await waitFor(
      `${pluginId} on ${name} to end`,
      async () => {
        const { body } = await api.get(`/tasks/${created.id}/`);
        return ['COMPLETED', 'FAILED'].includes(body.status) && body;
      },
      60_000,
    );
    const log = (await api.get(`/tasks/${created.id}/logs/`).expect(200)).body;
    const objects = (await api.get(`/tasks/${created.id}/objects/`).expect(200)).body.results;
    const hash = objects.map((o: { output_object: string }) => /sha256=([0-9a-f]{64})$/.exec(o.output_object)?.[1]);
    return { task, log, hash: hash[0] as string | undefined };
  }

  it("reaches the organization's container, and is masked in its stored log", async () => {
    const set = await acme
      .patch('/plugins/secret-echo/settings/', { settings: { API_KEY: acmeSecret, REGION: 'us' } })
      .expect(200);
    expect(set.body).toEqual({
      plugin_id: 'secret-echo',
      organization: 'acme',
      settings: [
        { name: 'API_KEY', updated_at: expect.any(String) },
        { name: 'REGION', updated_at: expect.any(String) },
      ],
    });
    // A setting of another plugin (and of the same name) stays with that plugin.
    await acme
      .patch('/plugins/other-plugin/settings/', { settings: { OTHER_ONLY: otherSecret, API_KEY: otherSecret } })
      .expect(200);
    expect((await acme.get('/plugins/secret-echo/settings/').expect(200)).body).toEqual(set.body);

    const { task, log, hash } = await run(acme, 'secret-echo', 'acme.example');
    expect(task).toMatchObject({ status: 'COMPLETED', organization: 'acme' });
    expect(hash).toBe(sha256(acmeSecret)); // the container had the organization's value, not the plugin's
    expect(log.stderr).toBe(`key=${MASK} region=us other=unset\n`);
    expect(log.stdout).toContain(`sha256=${sha256(acmeSecret)}`);
  });

  it('is masked in data.error and data.traceback of a failed task, and in a bad line quoted in the error', async () => {
    await acme.patch('/plugins/secret-fail/settings/', { settings: { API_KEY: acmeSecret } }).expect(200);
    await acme.patch('/plugins/secret-bad-line/settings/', { settings: { API_KEY: acmeSecret } }).expect(200);
    const failed = await run(acme, 'secret-fail', 'fail.example');
    expect(failed.task.status).toBe('FAILED');
    expect(failed.task.data.error).toBe(`plugin secret-fail exited with code 3: refused: ${MASK}`);
    expect(failed.task.data.traceback).toBe(`refused: ${MASK}\n`);
    expect(failed.log.stderr).toBe(`refused: ${MASK}\n`);
    const bad = await run(acme, 'secret-bad-line', 'bad.example');
    expect(bad.task.status).toBe('FAILED');
    expect(bad.task.data.error).toBe(
      `plugin secret-bad-line printed a bad object: stdout line 1 is not JSON: "not an object ${MASK}"`,
    );
    expect(bad.log.stdout).toBe(`not an object ${MASK}\n`);
  });

  it("gives another organization its own value or the plugin's, never acme's", async () => {
    await initech.patch('/plugins/secret-echo/settings/', { settings: { API_KEY: initechSecret } }).expect(200);
    const [ofGlobex, ofInitech, ofAcme] = await Promise.all([
      run(globex, 'secret-echo', 'globex.example'),
      run(initech, 'secret-echo', 'initech.example'),
      run(acme, 'secret-echo', 'acme-again.example'),
    ]);
    expect(ofGlobex.hash).toBe(sha256(GLOBAL_KEY));
    expect(ofGlobex.log.stderr).toBe(`key=${GLOBAL_KEY} region=eu other=unset\n`); // the plugin's own: not a secret
    expect(ofInitech.hash).toBe(sha256(initechSecret));
    expect(ofInitech.log.stderr).toBe(`key=${MASK} region=eu other=unset\n`);
    expect(ofAcme.hash).toBe(sha256(acmeSecret));
  });

  it('deletes a setting given null: the plugin falls back to its own value', async () => {
    const deleted = await acme.patch('/plugins/secret-echo/settings/', { settings: { API_KEY: null } }).expect(200);
    expect(names(deleted.body)).toEqual(['REGION']);
    expect(names((await acme.get('/plugins/secret-echo/settings/').expect(200)).body)).toEqual(['REGION']);
    // Only that plugin's: the other plugin's API_KEY stays.
    expect(names((await acme.get('/plugins/other-plugin/settings/').expect(200)).body)).toEqual([
      'API_KEY',
      'OTHER_ONLY',
    ]);
    const { hash, log } = await run(acme, 'secret-echo', 'deleted.example');
    expect(hash).toBe(sha256(GLOBAL_KEY));
    expect(log.stderr).toBe(`key=${GLOBAL_KEY} region=us other=unset\n`);
    // Set and delete in one request; deleting what does not exist is no error.
    const both = await acme
      .patch('/plugins/secret-echo/settings/', { settings: { API_KEY: acmeSecret, REGION: null, NEVER_SET: null } })
      .expect(200);
    expect(names(both.body)).toEqual(['API_KEY']);
  });

  it('refuses bad names and values with 400s naming them, unknown plugins with 404, and changes nothing', async () => {
    const [{ id: acmeId }] = await rows.query<{ id: number }>(`SELECT id FROM organization WHERE code = 'acme'`);
    const before = await rows.snapshot(acmeId);
    const refused = async (body: object, message: string) =>
      expect((await acme.patch('/plugins/secret-echo/settings/', body).expect(400)).body.message).toEqual(
        expect.arrayContaining([expect.stringContaining(message)]),
      );
    await refused(
      { settings: { 'FOO-BAR': 'x' } },
      'settings.FOO-BAR: a name is an upper-case letter, then up to 63 upper-case letters, digits or _ ' +
        '(^[A-Z][A-Z0-9_]{0,63}$)',
    );
    await refused({ settings: { api_key: 'x', OK: 'y' } }, 'settings.api_key: a name is an upper-case letter');
    await refused({ settings: { ['A'.repeat(65)]: 'x' } }, `settings.${'A'.repeat(65)}: a name is`);
    await refused(
      { settings: { API_KEY: 42 } },
      'settings.API_KEY: the value must be a string of at most 4096 bytes, or null to delete it',
    );
    await refused({ settings: { API_KEY: 'é'.repeat(2049) } }, 'settings.API_KEY: the value must be a string');
    await refused({ settings: { API_KEY: ['x'] } }, 'settings.API_KEY: the value must be a string');
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`KEY_${i}`, 'x']));
    await refused({ settings: many }, 'settings: at most 50 names a request, not 51');
    await refused({ settings: ['API_KEY'] }, 'settings must be an object of names and values (or null)');
    await refused({ settings: 'API_KEY=x' }, 'settings must be an object of names and values (or null)');
    await refused({}, 'settings must be an object of names and values (or null)');
    await refused({ settings: {}, values: {} }, 'property values should not exist');
    // One bad entry refuses the whole request.
    await refused({ settings: { API_KEY: 'changed', 'BAD NAME': 'x' } }, 'settings.BAD NAME: a name is');
    expect(OrganizationRows.changes(before, await rows.snapshot(acmeId))).toEqual({});

    // At the limits: 4096 bytes, 64-character names, 50 names.
    const limits = { ['Z'.repeat(64)]: 'é'.repeat(2048), ...Object.fromEntries(Object.entries(many).slice(0, 49)) };
    const accepted = await acme.patch('/plugins/other-plugin/settings/', { settings: limits }).expect(200);
    expect(names(accepted.body)).toHaveLength(2 + 50);
    await acme
      .patch('/plugins/other-plugin/settings/', {
        settings: Object.fromEntries(Object.keys(limits).map((k) => [k, null])),
      })
      .expect(200);
    // Both were recorded in the audit log; the refusals below must add nothing.
    const settled = await rows.snapshot(acmeId);

    for (const api of [acme, admin]) {
      const query = api === admin ? '?organization=acme' : '';
      expect((await api.get(`/plugins/no-such-plugin/settings/${query}`).expect(404)).body.message).toEqual([
        'plugin no-such-plugin does not exist',
      ]);
      await api.patch(`/plugins/no-such-plugin/settings/${query}`, { settings: { API_KEY: 'x' } }).expect(404);
    }
    const unscoped = await admin.get('/plugins/secret-echo/settings/').expect(400);
    expect(unscoped.body.message).toEqual(['organization: an admin token must name one with ?organization=<code>']);
    await admin.patch('/plugins/secret-echo/settings/', { settings: { API_KEY: null } }).expect(400);
    expect(OrganizationRows.changes(settled, await rows.snapshot(acmeId))).toEqual({});
    // An admin acts for the organization it names.
    const asAdmin = await admin.get('/plugins/secret-echo/settings/?organization=acme').expect(200);
    expect(asAdmin.body).toMatchObject({ organization: 'acme', settings: [{ name: 'API_KEY' }] });
  });

  it("keeps each organization to its own settings: globex neither reads nor changes acme's", async () => {
    const [{ id: acmeId }] = await rows.query<{ id: number }>(`SELECT id FROM organization WHERE code = 'acme'`);
    const before = await rows.snapshot(acmeId);
    expect((await globex.get('/plugins/secret-echo/settings/').expect(200)).body).toEqual({
      plugin_id: 'secret-echo',
      organization: 'globex',
      settings: [],
    });
    await globex.get('/plugins/secret-echo/settings/?organization=acme').expect(403);
    await globex.patch('/plugins/secret-echo/settings/?organization=acme', { settings: { API_KEY: null } }).expect(403);
    // Its own, of the same name: acme's stays.
    const own = await globex.patch('/plugins/secret-echo/settings/', { settings: { API_KEY: globexSecret } });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ organization: 'globex', settings: [{ name: 'API_KEY' }] });
    await globex.patch('/plugins/secret-echo/settings/', { settings: { API_KEY: null } }).expect(200);
    expect(OrganizationRows.changes(before, await rows.snapshot(acmeId))).toEqual({});
    expect(names((await acme.get('/plugins/secret-echo/settings/').expect(200)).body)).toEqual(['API_KEY']);
  });

  it('fails the task whose setting cannot be decrypted, with a clear error, while other tasks run', async () => {
    await umbrella.patch('/plugins/secret-echo/settings/', { settings: { API_KEY: umbrellaSecret } }).expect(200);
    const [{ id: umbrellaId }] = await rows.query<{ id: number }>(
      `SELECT id FROM organization WHERE code = 'umbrella'`,
    );
    // One bit of the ciphertext flipped.
    await rows.query(
      `UPDATE plugin_setting SET value_encrypted = set_byte(value_encrypted, 12, get_byte(value_encrypted, 12) # 1)
       WHERE organization_id = $1 AND name = 'API_KEY'`,
      [umbrellaId],
    );
    const [tampered, fine] = await Promise.all([
      run(umbrella, 'secret-echo', 'tampered.example'),
      run(acme, 'secret-echo', 'fine.example'),
    ]);
    expect(tampered.task.status).toBe('FAILED');
    expect(tampered.task.data.error).toMatch(
      /^plugin secret-echo did not run: organization umbrella's setting API_KEY cannot be decrypted: it does not decrypt under SECRETS_KEY \(key [0-9a-f]{16}\): the stored value was altered or belongs to another row$/,
    );
    expect(fine.task.status).toBe('COMPLETED');
    expect(fine.hash).toBe(sha256(acmeSecret));

    // Stored under another key: the error names both.
    await umbrella.patch('/plugins/secret-echo/settings/', { settings: { API_KEY: umbrellaSecret } }).expect(200);
    await rows.query(`UPDATE plugin_setting SET key_id = '0123456789abcdef' WHERE organization_id = $1`, [umbrellaId]);
    const otherKey = await run(umbrella, 'secret-echo', 'other-key.example');
    expect(otherKey.task.data.error).toMatch(
      /^plugin secret-echo did not run: organization umbrella's setting API_KEY cannot be decrypted: it was encrypted under key 0123456789abcdef, but SECRETS_KEY is key [0-9a-f]{16}: /,
    );
    // acme's sealed value moved onto umbrella's row does not open there.
    await rows.query(
      `UPDATE plugin_setting u SET value_encrypted = a.value_encrypted, key_id = a.key_id
       FROM plugin_setting a JOIN organization o ON o.id = a.organization_id
       WHERE o.code = 'acme' AND a.plugin_id = 'secret-echo' AND a.name = 'API_KEY'
         AND u.organization_id = $1 AND u.plugin_id = 'secret-echo' AND u.name = 'API_KEY'`,
      [umbrellaId],
    );
    const swapped = await run(umbrella, 'secret-echo', 'swapped.example');
    expect(swapped.task.data.error).toMatch(/setting API_KEY cannot be decrypted: .*belongs to another row$/);
    expect(swapped.hash).toBeUndefined();
    // The worker lives on.
    expect((await run(acme, 'secret-echo', 'after.example')).task.status).toBe('COMPLETED');
    expect(apps[1].exitCode).toBeNull();
  });

  it('answers 409 and stores nothing when SECRETS_KEY is not configured', async () => {
    const keyless: INestApplication = await startApi(environment.settings({ SECRETS_KEY: '' }));
    try {
      const api = client(keyless, await environment.token('acme'));
      const before = await rows.query(`SELECT * FROM plugin_setting ORDER BY 1, 2, 3`);
      const refused = await api.patch('/plugins/secret-echo/settings/', { settings: { NEW_KEY: 'value-1234' } });
      expect(refused.status).toBe(409);
      expect(refused.body.message).toEqual([
        'SECRETS_KEY is not configured: per-organization settings cannot be stored',
      ]);
      expect(await rows.query(`SELECT * FROM plugin_setting ORDER BY 1, 2, 3`)).toEqual(before);
      // Names are still listed, and deleting needs no key.
      expect(names((await api.get('/plugins/secret-echo/settings/').expect(200)).body)).toEqual(['API_KEY']);
      await api.patch('/plugins/other-plugin/settings/', { settings: { OTHER_ONLY: null } }).expect(200);
    } finally {
      await keyless.close();
    }
  });

  it('never shows a secret: not in any response, process output, Redis or row in the clear', async () => {
    // The read routes a secret could leak through, once more, for acme and an admin.
    const tasks = (await acme.get('/tasks/?limit=500').expect(200)).body.results as Array<{ id: string }>;
    expect(tasks.length).toBeGreaterThan(5);
    for (const { id } of tasks) {
      await acme.get(`/tasks/${id}/`).expect(200);
      await acme.get(`/tasks/${id}/logs/`).expect(200);
    }
    await admin.get('/tasks/?limit=500').expect(200);
    await acme.get('/plugins/').expect(200);
    for (const plugin of ['secret-echo', 'secret-fail', 'secret-bad-line', 'other-plugin']) {
      await acme.get(`/plugins/${plugin}/`).expect(200);
      await acme.get(`/plugins/${plugin}/settings/`).expect(200);
    }
    expect(seen.length).toBeGreaterThan(50);
    const inResponses = seen.filter((text) => secrets.some((secret) => text.includes(secret)));
    expect(inResponses).toEqual([]);

    const output = apps.map((app) => app.output()).join('\n');
    expect(output).toContain('running task'); // the worker did log its work
    expect(output).toContain('/plugins/secret-echo/settings'); // and the api its requests
    for (const secret of secrets) expect(output).not.toContain(secret);

    // In PostgreSQL: sealed, not in any column of any row, as text or bytes.
    const dump = await rows.query<{ text: string }>(
      `SELECT string_agg(to_jsonb(s)::text || encode(value_encrypted, 'escape'), ' ') AS text FROM plugin_setting s`,
    );
    expect(dump[0].text).toContain('API_KEY');
    const everything = await rows.query<{ text: string }>(
      `SELECT string_agg(x::text, ' ') AS text FROM (
         SELECT to_jsonb(t)::text AS x FROM task t UNION ALL SELECT to_jsonb(l)::text FROM task_log l
         UNION ALL SELECT to_jsonb(o)::text FROM object o) rows`,
    );
    for (const secret of secrets) {
      expect(dump[0].text).not.toContain(secret);
      expect(dump[0].text).not.toContain(Buffer.from(secret).toString('hex'));
      expect(everything[0].text).not.toContain(secret);
    }

    // In Redis: the queues' jobs carry task ids only.
    const redis = new Redis(environment.settings().REDIS_URL);
    try {
      const keys = await redis.keys(`${environment.queuePrefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'hash'
            ? JSON.stringify(await redis.hgetall(key))
            : type === 'list'
              ? (await redis.lrange(key, 0, -1)).join(' ')
              : type === 'zset'
                ? (await redis.zrange(key, 0, -1)).join(' ')
                : type === 'string'
                  ? ((await redis.get(key)) ?? '')
                  : '';
        for (const secret of secrets) expect({ key, leaked: value.includes(secret) }).toEqual({ key, leaked: false });
      }
    } finally {
      redis.disconnect();
    }
  });
});
