import { ChildProcess } from 'node:child_process';
import request from 'supertest';
import { exited, spawnApp } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { cookieOf, signIn, signInForm } from './support/web-session';
import { freePort } from './support/free-port';

/** An API client of one API process, by URL. */
function caller(url: string, token: string) {
  const auth = { Authorization: `Bearer ${token}` };
  return {
    get: (path: string) => request(url).get(`/api/v1${path}`).set(auth),
    post: (path: string, body: object = {}) => request(url).post(`/api/v1${path}`).set(auth).send(body),
    patch: (path: string, body: object) => request(url).patch(`/api/v1${path}`).set(auth).send(body),
    delete: (path: string) => request(url).delete(`/api/v1${path}`).set(auth),
  };
}

/**
 * API tokens with a lifecycle, against two API processes (two caches of tokens, as two replicas
 * have) on real PostgreSQL and Redis: access levels, expiry, last use, revocation that takes effect
 * at once everywhere, and web sessions that hold no token.
 */
describe('API tokens and web sessions', () => {
  let environment: TestEnvironment;
  let apps: ChildProcess[];
  let urlA: string;
  let urlB: string;
  let acmeAdmin: ReturnType<typeof caller>;
  let globexAdmin: ReturnType<typeof caller>;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    const ports = [await freePort()];
    while (ports.length < 2) ports.push(...[await freePort()].filter((port) => port !== ports[0]));
    apps = ports.map((port) => spawnApp('api/main', environment.processEnv({ PORT: String(port) })));
    [urlA, urlB] = ports.map((port) => `http://127.0.0.1:${port}`);
    for (const url of [urlA, urlB]) {
      await waitFor('the api', async () => (await fetch(`${url}/health/ready`).catch(() => null))?.ok, 30_000);
    }
    acmeAdmin = caller(urlA, await environment.token('acme', { access: 'admin' }));
    globexAdmin = caller(urlA, await environment.token('globex', { access: 'admin' }));
  });

  afterAll(async () => {
    for (const app of apps ?? []) {
      app.kill('SIGTERM');
      await exited(app);
    }
    await environment?.destroy();
  });

  /** A new acme token made through the API: its id and secret. */
  const issue = async (body: object) => {
    const response = await acmeAdmin.post('/tokens/', body).expect(201);
    return { id: response.body.id as number, secret: response.body.token as string, body: response.body };
  };

  it("lets an organization's admin make, list and read its tokens, never showing a secret again", async () => {
    const made = await issue({ name: 'ci pipeline', access: 'read' });
    expect(made.body).toMatchObject({ name: 'ci pipeline', organization: 'acme', access: 'read', status: 'active' });
    expect(made.secret).toMatch(/^kat_/);

    const list = await acmeAdmin.get('/tokens/').expect(200);
    const listed = list.body.results.find((t: { id: number }) => t.id === made.id);
    expect(listed).toMatchObject({ name: 'ci pipeline', access: 'read', expires_at: null, revoked_at: null });
    expect(list.body.results.every((t: { organization: string }) => t.organization === 'acme')).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(made.secret);
    expect(JSON.stringify(list.body)).not.toMatch(/token_hash|[0-9a-f]{64}/);
    expect((await acmeAdmin.get(`/tokens/${made.id}/`).expect(200)).body.token).toBeUndefined();
    // Pages by id, newest first.
    const first = await acmeAdmin.get('/tokens/?limit=1').expect(200);
    const next = await acmeAdmin.get(`/tokens/?limit=1&cursor=${first.body.next_cursor}`).expect(200);
    expect(first.body.results[0].id).toBe(made.id);
    expect(next.body.results[0].id).toBeLessThan(made.id);

    // Stored only as a hash.
    const stored = await environment.withDataSource((db) =>
      db.query(`SELECT token_hash FROM api_token WHERE id = $1`, [made.id]),
    );
    expect(stored[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0].token_hash).not.toContain(made.secret);

    // Another organization's admin neither sees nor revokes it.
    const theirs = await globexAdmin.get('/tokens/').expect(200);
    expect(theirs.body.results.map((t: { id: number }) => t.id)).not.toContain(made.id);
    await globexAdmin.get(`/tokens/${made.id}/`).expect(404);
    await globexAdmin.delete(`/tokens/${made.id}/`).expect(404);
    await caller(urlA, made.secret).get('/tasks/').expect(200);
  });

  it('refuses token management to tokens without admin access, and bad requests with the field named', async () => {
    const write = await issue({ name: 'writer' });
    expect(write.body.access).toBe('write');
    const refused = await caller(urlA, write.secret).get('/tokens/').expect(403);
    expect(refused.body.message).toEqual(['this needs a token with admin access']);
    await caller(urlA, write.secret).post('/tokens/', { name: 'escalate', access: 'admin' }).expect(403);

    const bad = async (body: object, message: string) =>
      expect((await acmeAdmin.post('/tokens/', body).expect(400)).body.message).toEqual(
        expect.arrayContaining([expect.stringContaining(message)]),
      );
    await bad({ name: '' }, 'name');
    await bad({ name: 'x', access: 'root' }, 'access');
    await bad({ name: 'x', expires_at: 'tomorrow' }, 'expires_at');
    await bad({ name: 'x', expires_at: '2001-01-01T00:00:00Z' }, 'expires_at must be in the future');
    await acmeAdmin.get('/tokens/abc/').expect(400);

    // A token cannot make one that outlives it: a short-lived admin token leaves nothing behind.
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const shortAdmin = caller(
      urlA,
      (await issue({ name: 'short admin', access: 'admin', expires_at: expires })).secret,
    );
    const outliving = await shortAdmin.post('/tokens/', { name: 'forever', access: 'admin' }).expect(400);
    expect(outliving.body.message[0]).toMatch(/^expires_at must be no later than /);
    await shortAdmin.post('/tokens/', { name: 'within', expires_at: expires }).expect(201);
  });

  it('refuses every write of a read-only token with 403, and changes nothing', async () => {
    const reader = caller(urlA, (await issue({ name: 'dashboard', access: 'read' })).secret);
    await reader.get('/tasks/').expect(200);
    await reader.get('/plugins/').expect(200);
    const before = await environment.withDataSource((db) =>
      db.query(`SELECT (SELECT count(*) FROM task) AS tasks, (SELECT count(*) FROM object_set) AS sets`),
    );
    const writes = [
      reader.post('/tasks/', { type: 'plugin', data: { plugin_id: 'dns_records', input_data: 'internet|a.example' } }),
      reader.post('/object-sets/', { name: 'x', object_type: 'hostname', query: '' }),
      reader.patch('/business-rules/missing_spf/', { enabled: false }),
      reader.delete('/objects/hostname/internet%7Ca.example/'),
    ];
    for (const response of await Promise.all(writes)) {
      expect(response.status).toBe(403);
      expect(response.body.message[0]).toMatch(
        /^this token is read-only: (POST|PATCH|DELETE) needs a token with write/,
      );
    }
    const after = await environment.withDataSource((db) =>
      db.query(`SELECT (SELECT count(*) FROM task) AS tasks, (SELECT count(*) FROM object_set) AS sets`),
    );
    expect(after).toEqual(before);
  });

  it('stops accepting a token at its expiry, cached or not, and records when it was last used', async () => {
    const expires = new Date(Date.now() + 3000);
    const made = await issue({ name: 'short-lived', expires_at: expires.toISOString() });
    const short = caller(urlA, made.secret);
    await short.get('/tasks/').expect(200); // now cached by process A
    await waitFor(
      'last_used_at to be recorded',
      async () => (await acmeAdmin.get(`/tokens/${made.id}/`)).body.last_used_at,
      10_000,
    );
    const used = (await acmeAdmin.get(`/tokens/${made.id}/`)).body.last_used_at;
    expect(Math.abs(new Date(used).getTime() - Date.now())).toBeLessThan(10_000);

    const refusal = await waitFor(
      'the token to expire',
      async () => {
        const response = await short.get('/tasks/');
        return response.status === 401 ? response : undefined;
      },
      10_000,
    );
    // It worked until its expiry and not after it (the clocks of test and API are the machine's).
    expect(Date.now()).toBeGreaterThanOrEqual(expires.getTime());
    expect(refusal.body.message).toEqual(['the API token has expired']);
    await caller(urlB, made.secret).get('/tasks/').expect(401);
    expect((await acmeAdmin.get(`/tokens/${made.id}/`)).body.status).toBe('expired');
  });

  it('makes a revocation take effect at once in every API process, though each had the token cached', async () => {
    const made = await issue({ name: 'to revoke' });
    const [onA, onB] = [caller(urlA, made.secret), caller(urlB, made.secret)];
    // Both processes now trust the token for TOKEN_CACHE_MS (10 s) without asking the database.
    await onA.get('/tasks/').expect(200);
    await onB.get('/tasks/').expect(200);

    const revoked = await acmeAdmin.delete(`/tokens/${made.id}/`).expect(200);
    expect(revoked.body).toMatchObject({ id: made.id, status: 'revoked' });
    // The very next request to the other process is refused: no waiting for its cache.
    const onOther = await onB.get('/tasks/');
    expect(onOther.status).toBe(401);
    expect(onOther.body.message).toEqual(['the API token has been revoked']);
    await onA.get('/tasks/').expect(401);
    // A second revocation keeps the first time.
    const again = await acmeAdmin.delete(`/tokens/${made.id}/`).expect(200);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
  });

  it('revokes from the CLI (kat revoke-token) at once in every API process too', async () => {
    const made = await issue({ name: 'cli revoked' });
    const [onA, onB] = [caller(urlA, made.secret), caller(urlB, made.secret)];
    await onA.get('/tasks/').expect(200);
    await onB.get('/tasks/').expect(200);
    const cli = spawnApp('cli/main', environment.processEnv(), ['revoke-token', String(made.id)]);
    expect(await exited(cli)).toBe(0);
    expect(cli.output()).toContain(`Token ${made.id} (cli revoked) is revoked`);
    await onB.get('/tasks/').expect(401);
    await onA.get('/tasks/').expect(401);
  });

  describe('web sessions', () => {
    it('keeps a random session id in the cookie, never the token, and ends the session with its token', async () => {
      const made = await issue({ name: 'browser' });
      const session = await signIn(urlA, made.secret);
      const id = session.cookie.split('=')[1];
      expect(id).not.toContain(made.secret);
      expect(made.secret).not.toContain(id);
      expect(decodeURIComponent(id)).not.toMatch(/^kat_/);
      const stored = await environment.withDataSource((db) =>
        db.query(`SELECT id_hash FROM web_session s JOIN api_token t ON t.id = s.token_id WHERE t.id = $1`, [made.id]),
      );
      expect(stored).toHaveLength(1);
      expect(stored[0].id_hash).not.toContain(id);

      // The session works in the other process too (it is in the database), and ends with its token.
      await request(urlB).get('/tasks/').set('Cookie', session.cookie).expect(200);
      await acmeAdmin.delete(`/tokens/${made.id}/`).expect(200);
      const after = await request(urlB).get('/tasks/').set('Cookie', session.cookie);
      expect(after.status).toBe(303);
      expect(after.headers.location).toBe('/sign-in');
    });

    it('sets the session cookie HttpOnly and SameSite=Strict, and ends the session at sign-out', async () => {
      const made = await issue({ name: 'signs out' });
      const form = await signInForm(urlA);
      const signedIn = await request(urlA)
        .post('/sign-in')
        .set('Cookie', form.cookie)
        .type('form')
        .send({ sign_in: form.field, token: made.secret })
        .expect(303);
      const setCookie = [signedIn.headers['set-cookie']].flat().find((c: string) => c.startsWith('kat_session='))!;
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Strict/);
      const cookie = cookieOf(signedIn.headers['set-cookie'], 'kat_session');
      const page = await request(urlA).get('/tasks/').set('Cookie', cookie).expect(200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1];
      await request(urlA).post('/sign-out').set('Cookie', cookie).type('form').send({ csrf }).expect(303);
      const ended = await request(urlA).get('/tasks/').set('Cookie', cookie).expect(303);
      expect([ended.headers['set-cookie'] ?? []].flat().join()).toMatch(/kat_session=;/);

      // Signing in again from a browser that has a session ends that session.
      const first = await signIn(urlA, made.secret);
      const again = await signInForm(urlA);
      await request(urlA)
        .post('/sign-in')
        .set('Cookie', `${again.cookie}; ${first.cookie}`)
        .type('form')
        .send({ sign_in: again.field, token: made.secret })
        .expect(303);
      await request(urlA).get('/tasks/').set('Cookie', first.cookie).expect(303);
    });

    it('refuses a sign-in that did not come from its own form (login CSRF)', async () => {
      const made = await issue({ name: 'login csrf' });
      const noCookie = await request(urlA).post('/sign-in').type('form').send({ sign_in: 'x', token: made.secret });
      expect(noCookie.status).toBe(403);
      expect(noCookie.text).toContain('The sign-in form was not sent from this site');
      expect([noCookie.headers['set-cookie'] ?? []].flat().join()).not.toContain('kat_session=');

      const form = await signInForm(urlA);
      const otherField = await request(urlA)
        .post('/sign-in')
        .set('Cookie', form.cookie)
        .type('form')
        .send({ sign_in: `${form.field}x`, token: made.secret });
      expect(otherField.status).toBe(403);
    });

    it('lets a read-only session read the pages but not use their forms', async () => {
      const made = await issue({ name: 'read-only browser', access: 'read' });
      const session = await signIn(urlA, made.secret);
      await request(urlA).get('/tasks/').set('Cookie', session.cookie).expect(200);
      const refused = await request(urlA)
        .post('/tasks/00000000-0000-4000-8000-000000000000/cancel')
        .set('Cookie', session.cookie)
        .type('form')
        .send({ csrf: session.csrf });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('this token is read-only');
      await request(urlA).get('/tokens/').set('Cookie', session.cookie).expect(403);
      await request(urlA).post('/sign-out').set('Cookie', session.cookie).type('form').send({ csrf: session.csrf });
    });

    it("shows an organization admin its tokens' page, makes a token there and revokes it", async () => {
      const session = await signIn(urlA, await environment.token('acme', { access: 'admin' }));
      const made = await request(urlA)
        .post('/tokens/')
        .set('Cookie', session.cookie)
        .type('form')
        .send({ csrf: session.csrf, name: 'from the page', access: 'read', expires_at: '' })
        .expect(201);
      const secret = /<code>(kat_[^<]+)<\/code>/.exec(made.text)![1];
      const list = await acmeAdmin.get('/tokens/').expect(200);
      const token = list.body.results.find((t: { name: string }) => t.name === 'from the page');
      expect(token).toMatchObject({ access: 'read', status: 'active' });
      await caller(urlB, secret).get('/tasks/').expect(200);
      await request(urlA)
        .post(`/tokens/${token.id}/revoke`)
        .set('Cookie', session.cookie)
        .type('form')
        .send({ csrf: session.csrf })
        .expect(303);
      await caller(urlB, secret).get('/tasks/').expect(401);
    });
  });
});
