import { INestApplication } from '@nestjs/common';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { OBJECT_KEY_FIELDS } from '@kat/domain';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startApi } from './support/apps';
import { TestEnvironment } from './support/environment';

interface Operation {
  summary?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string }>;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * The OpenAPI document as a linter and a client see it: Redocly's `recommended` ruleset (redocly.yaml)
 * finds nothing in it, every operation has a summary, its errors and its security, the security is
 * what the AuthGuard does, and the query parameters that handlers read themselves are declared. A
 * failure names the route.
 */
describe('the OpenAPI document', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let source: string;
  let operations: Array<{ route: string; method: string; path: string; operation: Operation }>;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    source = (await request(api.getHttpServer()).get('/api/docs-json').expect(200)).text;
    const document = JSON.parse(source) as { paths: Record<string, Record<string, Operation>> };
    operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, method, path, operation })),
    );
  });

  afterAll(async () => {
    await api?.close();
    await environment?.destroy();
  });

  const query = (route: string) =>
    operations
      .find((o) => o.route === route)!
      .operation.parameters!.filter((p) => p.in === 'query')
      .map((p) => p.name);

  it("has no error and no warning under Redocly's recommended ruleset (redocly.yaml)", async () => {
    // createConfig, not loadConfig: the same file, without loadConfig's look for a Redocly login in $HOME.
    const configPath = join(__dirname, '..', 'redocly.yaml');
    const config = await createConfig(readFileSync(configPath, 'utf8'), { configPath });
    const problems = await lintFromString({ source, absoluteRef: 'http://127.0.0.1/api/docs-json', config });
    const found = problems.map((problem) => {
      const where = problem.location.map((location) => ('pointer' in location ? location.pointer : '?')).join(' ');
      return `${problem.severity} ${problem.ruleId}: ${problem.message} at ${where}`;
    });
    expect(found).toEqual([]);
  });

  it('gives every operation a summary, its security, and a 4xx answer in the error shape', () => {
    expect(operations.length).toBeGreaterThan(40);
    const missing = operations.flatMap(({ route, operation }) => {
      const errors = Object.entries(operation.responses).filter(([status]) => /^4\d\d$/.test(status));
      return [
        ...(operation.summary?.trim() ? [] : [`${route}: no summary`]),
        ...(Array.isArray(operation.security) ? [] : [`${route}: no security (say [] for a public route)`]),
        ...(errors.length > 0 ? [] : [`${route}: no 4xx response`]),
        ...errors
          .filter(
            ([, response]) => response.content?.['application/json']?.schema?.$ref !== '#/components/schemas/ErrorDto',
          )
          .map(([status]) => `${route}: its ${status} is not an ErrorDto`),
      ];
    });
    expect(missing).toEqual([]);
  });

  it('declares the filters that GET /objects/{type} and GET /object-tasks read from the query', () => {
    const keyFields = [...new Set(Object.values(OBJECT_KEY_FIELDS).flat())];
    expect(keyFields).toEqual(expect.arrayContaining(['network', 'name', 'address']));
    expect(query('GET /api/v1/objects/{type}').sort()).toEqual(
      [...keyFields, 'limit', 'cursor', 'organization'].sort(),
    );
    expect(query('GET /api/v1/object-tasks').sort()).toEqual(
      ['task_id', 'plugin_id', 'input_object', 'output_object', 'limit', 'cursor', 'organization'].sort(),
    );
  });

  it('says which operations need a token, as the AuthGuard does', async () => {
    const wrong: string[] = [];
    for (const { route, method, path, operation } of operations) {
      const url = path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
      const { status } = await request(api.getHttpServer())[method as 'get'](url);
      const needsToken = (operation.security ?? []).length > 0;
      if ((status === 401) !== needsToken) wrong.push(`${route}: ${status} without a token, security ${needsToken}`);
    }
    expect(wrong).toEqual([]);
  });

  it('declares ?organization= on every operation that needs a token, as the AuthGuard reads it there', () => {
    const secured = operations.filter(({ operation }) => (operation.security ?? []).length > 0);
    expect(secured.length).toBeGreaterThan(40);
    const undeclared = secured
      .filter(
        ({ operation }) => !(operation.parameters ?? []).some((p) => p.in === 'query' && p.name === 'organization'),
      )
      .map(({ route }) => route);
    expect(undeclared).toEqual([]);
  });

  it('answers each path with a trailing slash as without one: the form without it is canonical', async () => {
    const token = await environment.token('acme');
    const plain = operations.filter((o) => o.method === 'get' && !o.path.includes('{'));
    const answers = await Promise.all(
      plain.map(async ({ path }) => {
        const get = (url: string) =>
          request(api.getHttpServer())
            .get(url)
            .set('Authorization', `Bearer ${token}`)
            .then((r) => r.status);
        return { path, canonical: await get(path), slash: await get(`${path}/`) };
      }),
    );
    expect(answers.filter((a) => a.canonical === 200).length).toBeGreaterThan(10);
    expect(answers.filter((a) => a.slash !== a.canonical)).toEqual([]);
  });
});
