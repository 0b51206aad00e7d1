import { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import request from 'supertest';
import { startApi } from './support/apps';
import { TestEnvironment } from './support/environment';
import { OrganizationRows } from './support/organization-rows';
import { expressRoutes, routeKey } from './support/route-inventory';
import { signIn } from './support/web-session';

/**
 * Requests per route (with ~70 routes, about 2,700 in all) and the generator's seed: fixed, so a
 * failure reproduces; `FUZZ_SEED=<n> FUZZ_RUNS=<n> npx jest test/fuzz` explores further.
 */
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const DEADLINE_MS = 5000;

interface Operation {
  method: string;
  path: string;
  query: string[];
  body: string[] | null;
  page: boolean;
}

/** Strings that have broken parsers, validators and databases before. */
const hostileString = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((text) => `${text}\u0000`) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '',
      '\u0000',
      'a\u0000b',
      '-1',
      '0',
      '1e20',
      'NaN',
      '-271821-04-20T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '00000000-0000-0000-0000-000000000000',
      'not-a-uuid',
      'internet|example.com',
      'internet|a\u0000.example.com',
      '__proto__',
      '../../etc/passwd',
      '<script>alert(1)</script>',
      'x'.repeat(10_000),
    ),
  },
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, 1e20, -1, 2 ** 31, Number.MAX_SAFE_INTEGER),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  fc.constant(JSON.parse('['.repeat(64) + ']'.repeat(64))),
);

/**
 * Generated from the routes themselves, so a new route is covered without anyone remembering to:
 * every operation of the OpenAPI document (its path and query parameters and its body's
 * properties) and every page in the Express router. Each gets malformed and boundary values in
 * every place. The suite fails on any 5xx, on any answer slower than 5 s, and on any change to
 * stored data by a request that was refused (4xx).
 */
describe('fuzz: malformed and boundary requests on every route and page', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let rows: OrganizationRows;
  let acmeId: number;
  const tokens: Record<'admin' | 'acme', string> = { admin: '', acme: '' };
  let session = '';
  const operations: Operation[] = [];
  let sent = 0;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    tokens.admin = await environment.token('acme', { admin: true });
    tokens.acme = await environment.token('acme');
    // A token's last use is written whatever the answer (at most once a minute): not the request's doing.
    rows = await OrganizationRows.open(environment.databaseUrl, { api_token: ['last_used_at'] });
    [{ id: acmeId }] = await rows.query<{ id: number }>(`SELECT id FROM organization WHERE code = 'acme'`);
    session = (await signIn(api.getHttpServer(), tokens.acme)).cookie;

    const { body: document } = await request(api.getHttpServer()).get('/api/docs-json').expect(200);
    const schemas = document.components?.schemas ?? {};
    for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, OpenApiOperation>>)) {
      for (const [method, operation] of Object.entries(methods)) {
        const parameters = operation.parameters ?? [];
        const ref = operation.requestBody?.content?.['application/json']?.schema?.$ref as string | undefined;
        const schema = ref ? schemas[ref.split('/').pop()!] : operation.requestBody ? {} : null;
        operations.push({
          method,
          path,
          query: parameters.filter((p) => p.in === 'query').map((p) => p.name),
          body: schema ? Object.keys(schema.properties ?? {}) : null,
          page: false,
        });
      }
    }
    const documented = new Set(operations.map((o) => routeKey(o.method, o.path)));
    for (const route of expressRoutes(api)) {
      const [method, path] = route.split(' ');
      if (method === 'USE' || documented.has(route) || path.startsWith('/api/')) continue;
      operations.push({
        method: method.toLowerCase(),
        path,
        query: [],
        body: method === 'POST' ? [] : null,
        page: true,
      });
    }
  });

  afterAll(async () => {
    console.log(`fuzz: ${sent} requests to ${operations.length} routes and pages`);
    await rows?.close();
    await api?.close();
    await environment?.destroy();
  });

  it('answers every malformed request with a status under 500, in time, and refuses without side effects', async () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const operation of operations) {
      const params = [...operation.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const requestArbitrary = fc.record({
        as: fc.constantFrom('admin' as const, 'acme' as const),
        scoped: fc.boolean(),
        params: fc.tuple(...params.map(() => hostileString)),
        query: fc
          .subarray(operation.query)
          .chain((names) => fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), hostileString)))),
        body: operation.body
          ? fc.record(Object.fromEntries([...operation.body, 'unknown_field'].map((name) => [name, hostileValue])), {
              requiredKeys: [],
            })
          : fc.constant(undefined),
      });
      await fc.assert(
        fc.asyncProperty(requestArbitrary, async (generated) => {
          let path = operation.path;
          params.forEach((name, i) => (path = path.replace(`{${name}}`, encodeURIComponent(generated.params[i]))));
          const query = [
            ...generated.query.map(([name, value]) => `${name}=${encodeURIComponent(value)}`),
            ...(generated.scoped && generated.as === 'admin' ? ['organization=acme'] : []),
          ].join('&');
          const url = query ? `${path}?${query}` : path;
          const before = await rows.snapshot(acmeId);
          const started = Date.now();
          let call = request(api.getHttpServer())[operation.method as 'get'](url).timeout(DEADLINE_MS);
          call = operation.page
            ? call.set('Cookie', session)
            : call.set('Authorization', `Bearer ${tokens[generated.as]}`);
          if (generated.body !== undefined)
            call = operation.page
              ? call.type('form').send(generated.body as object)
              : call.send(generated.body as object);
          const response = await call;
          sent++;
          const body = JSON.stringify(generated.body ?? null).slice(0, 300);
          const where = `${operation.method.toUpperCase()} ${url} ${body}`;
          expect({ where, status: response.status < 500 }).toEqual({ where, status: true });
          expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
          if (response.status >= 400) {
            expect({ where, changed: OrganizationRows.changes(before, await rows.snapshot(acmeId)) }).toEqual({
              where,
              changed: {},
            });
          }
        }),
        { numRuns: RUNS_PER_ROUTE, seed: SEED },
      );
    }
  }, 600_000);
});

interface OpenApiOperation {
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
}
