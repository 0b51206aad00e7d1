import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { OBJECT_KEY_FIELDS, ObjectType, seed, TASK_STATUSES } from '@kat/domain';
import request, { Response } from 'supertest';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { OrganizationRows } from './support/organization-rows';
import { BUSYBOX_IMAGE, registerShellPlugin } from './support/plugins';
import { expressRoutes, openApiRoutes } from './support/route-inventory';
import { signIn, signInForm } from './support/web-session';

type Label = 'pending' | 'running' | 'failed' | 'cancelled' | 'scanned';

/** What acme owns, live, when globex (a non-admin of another organization) acts on every route. */
interface Acme {
  task: Record<Label, string>;
  /** Every task of acme: the ones above, a DNS scan, a rule task, a report task, a schedule's tasks. */
  tasks: string[];
  inputs: string[];
  plugins: string[];
  objects: Array<{ type: string; key: string; data: Record<string, unknown> }>;
  /** Keys of the objects acme's scan produced (its ObjectTask records). */
  produced: string[];
  set: { id: string; name: string; members: string[] };
  schedule: string;
  report: string;
  /** The id of acme's own (non-admin) API token. */
  token: string;
  /** Strings that are acme's alone: ids, object keys, hostnames, addresses, names. */
  markers: string[];
}

/** One request globex makes, and what it must answer. */
interface Call {
  /** Fills the {name} parameters of the route's path. */
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** Valid, so that a 400 from validation cannot stand in for a missing tenant check. */
  body?: object;
  status: number;
  check?: (response: Response) => void;
  /** For a `USE` mount: the method, and the path below the mount. */
  method?: string;
  below?: string;
  /** acme's strings globex rightly gets back: its own object under the same natural key. */
  echoes?: string[];
  /** The Cookie header, when not globex's session. */
  cookie?: () => string;
}

/** Web sessions besides globex's own: one to sign out, and the sign-in form's cookie and field. */
const web = { spareSession: '', spareCsrf: '', signInCookie: '', signInField: '' };

/** Ids of what globex made before a case: its own resources, naming acme's. */
type Own = Record<string, string>;
type MakeOwn = (globex: ApiClient, a: Acme) => Promise<Own>;

type RouteCase =
  | { kind: 'tenant'; does: string; calls: (a: Acme, own: Own) => Call[]; own?: MakeOwn }
  | { kind: 'admin'; calls: (a: Acme) => Array<Omit<Call, 'status'>> }
  | { kind: 'open'; why: string; calls: () => Call[] };

const tenant = (does: string, calls: (a: Acme, own: Own) => Call[], own?: MakeOwn): RouteCase => ({
  kind: 'tenant',
  does,
  calls,
  own,
});
const adminOnly = (calls: (a: Acme) => Array<Omit<Call, 'status'>> = () => [{}]): RouteCase => ({
  kind: 'admin',
  calls,
});
const open = (why: string, calls: () => Call[]): RouteCase => ({ kind: 'open', why, calls });

const host = (label: string) => `${label}.acme-only.example`;
const input = (label: string) => `internet|${host(label)}`;
const PLUGIN_OF: Record<Label, string> = {
  pending: 'hello',
  running: 'sleeper',
  failed: 'breaker',
  cancelled: 'hello',
  scanned: 'reporter',
};
const ADDRESS = '198.51.100.213';
/** acme's own setting of the reporter plugin: its name and its value must show nowhere. */
const ACME_SETTING = { name: 'ACME_ONLY_API_KEY', value: `acme-only-secret-${Date.now().toString(36)}` };
const ACME_OBJECTS: Array<{ type: ObjectType; body: Record<string, unknown> }> = [
  ...[...Object.keys(PLUGIN_OF), 'mail'].map((label) => ({
    type: 'hostname' as const,
    body: { network: 'internet', name: host(label) },
  })),
  { type: 'ipaddress', body: { network: 'internet', address: ADDRESS } },
  { type: 'ipport', body: { network: 'internet', address: ADDRESS, protocol: 'tcp', port: 5432, state: 'open' } },
  {
    type: 'dnsrecord',
    body: { network: 'internet', hostname: host('mail'), record_type: 'A', value: ADDRESS, ttl: 300 },
  },
];
const keyOf = (type: ObjectType, data: Record<string, unknown>) =>
  OBJECT_KEY_FIELDS[type].map((field) => data[field]).join('|');
const keyFilter = (type: string, data: Record<string, unknown>) =>
  Object.fromEntries(OBJECT_KEY_FIELDS[type as ObjectType].map((field) => [field, String(data[field])]));

const empty = (r: Response) => expect(r.body).toEqual({ results: [], next_cursor: null, count: 0 });
const says = (message: string) => (r: Response) => expect(r.body.message).toEqual([message]);
const globexOwns = (r: Response) => expect(r.body.organization).toBe('globex');
const shows = (text: string) => (r: Response) => expect(r.text).toContain(text);
/** The dashboard page: none of the plugins only acme ran, and none of acme's errors. */
const noAcmePlugins = (r: Response) => {
  expect(r.text).toContain('Tasks per hour');
  for (const plugin of ['breaker', 'reporter', 'refused']) expect(r.text).not.toContain(plugin);
};
/** The web pages answer every form with a redirect; its notice tells what was done. */
const noticeSays = (notice: string) => (r: Response) =>
  expect(new URL(r.headers.location, 'http://pages').searchParams.get('notice')).toBe(notice);
const notDone = (r: Response) =>
  expect(new URL(r.headers.location, 'http://pages').searchParams.get('notice')).toMatch(/^Not done: /);
const eachTask =
  (status: number, check?: Call['check']) =>
  (a: Acme): Call[] =>
    a.tasks.map((id) => ({ params: { id }, status, check }));
const eachObject =
  (status: number) =>
  (a: Acme): Call[] =>
    a.objects.map(({ type, key }) => ({ params: { type, pk: key }, status }));
const taskFilters = (a: Acme): Array<Record<string, string>> => [
  {},
  ...a.inputs.map((input_data) => ({ input_data })),
  ...a.plugins.map((plugin_id) => ({ plugin_id })),
  ...TASK_STATUSES.map((status) => ({ status })),
  { type: 'business_rule' },
  { type: 'report' },
];
const lists = (queries: Array<Record<string, string>>, check: Call['check']): Call[] =>
  queries.map((query) => ({ query, status: 200, check }));
const enabled = (ruleId: string, r: Response) =>
  r.body.results.find((rule: { rule_id: string }) => rule.rule_id === ruleId).enabled;
/** A hostname set of globex's own: `object_ids` may name any key, acme's included. */
const ownSet = async (globex: ApiClient, name: string, query: string | null, object_ids: string[] = []) =>
  (await globex.post('/object-sets/', { name, object_type: 'hostname', query, object_ids }).expect(201)).body
    .id as string;
const DOCS = 'Swagger UI and the OpenAPI document: the API described, no data';

/**
 * Every route the app serves, classified. The first test fails on a route missing here (or here
 * but no longer served); each case has globex act on acme's live resources and checks the
 * status, that acme's rows did not change, and that none of acme's identifiers shows.
 */
const ROUTES: Record<string, RouteCase> = {
  'POST /api/v1/tasks': tenant("creates its own tasks on acme's active inputs, cannot report on acme's set", (a) => [
    {
      body: { type: 'plugin', data: { plugin_id: 'hello', input_data: input('pending') } },
      status: 201, // not 200 with acme's active task
      check: globexOwns,
    },
    {
      body: { type: 'plugin', data: { plugin_id: 'sleeper', input_data: input('running') } },
      status: 201,
      check: globexOwns,
    },
    {
      body: { type: 'report', data: { report_type: 'findings_summary', object_set_id: a.set.id } },
      status: 400,
      check: says(`data.object_set_id: object set ${a.set.id} does not exist`),
    },
  ]),
  'POST /api/v1/tasks/bulk': tenant("creates its own tasks on acme's active inputs", () => [
    {
      body: {
        tasks: (['pending', 'running'] as Label[]).map((l) => ({ plugin_id: PLUGIN_OF[l], input_data: input(l) })),
      },
      status: 201,
      check: (r) => {
        expect(r.body.created).toBe(2);
        for (const task of r.body.results) expect(task.organization).toBe('globex');
      },
    },
  ]),
  'GET /api/v1/tasks': tenant("lists none of acme's tasks, whatever the filter", (a) =>
    lists([...taskFilters(a), { schedule_id: a.schedule }], empty),
  ),
  'GET /api/v1/tasks/stats': tenant("counts none of acme's tasks", (a) =>
    (
      [{ schedule_id: a.schedule }, { plugin_id: 'breaker' }, { plugin_id: 'reporter' }] as Array<
        Record<string, string>
      >
    ).map((filters) => ({
      query: { ...filters, bucket: 'day', since: new Date(Date.now() - 7 * 86_400_000).toISOString() },
      status: 200,
      check: (r) => {
        expect(r.body.buckets).toHaveLength(8);
        for (const { start: _start, ...counts } of r.body.buckets)
          for (const n of Object.values(counts)) expect(n).toBe(0);
      },
    })),
  ),
  // acme's rows are compared before and after every case: these must leave them as they were.
  'POST /api/v1/tasks/retry': tenant("retries none of acme's failed or cancelled tasks", (a) =>
    [{ schedule_id: a.schedule }, { plugin_id: 'breaker' }, { input_data: input('cancelled') }, {}].map((body) => ({
      body,
      status: 200,
    })),
  ),
  'POST /api/v1/tasks/cancel': tenant("cancels none of acme's pending or running tasks", (a) =>
    [{ schedule_id: a.schedule }, { plugin_id: 'sleeper', status: 'RUNNING' }, { input_data: input('pending') }].map(
      (body) => ({ body, status: 200 }),
    ),
  ),
  'GET /api/v1/dashboard': tenant("counts none of acme's tasks", () => [
    {
      status: 200,
      check: (r) => {
        // acme's breaker failed and its reporter completed: globex runs neither.
        expect(r.body.plugins.map((p: { plugin_id: string }) => p.plugin_id)).not.toContain('breaker');
        expect(r.body.plugins.map((p: { plugin_id: string }) => p.plugin_id)).not.toContain('reporter');
        expect(r.body.errors).toEqual([]);
        expect(r.body.queue.pending_by_organization).toBeNull();
      },
    },
  ]),
  'GET /api/v1/tasks/{id}': tenant("does not show acme's tasks", eachTask(404)),
  'POST /api/v1/tasks/{id}/run': tenant("does not queue acme's tasks", eachTask(404)),
  'POST /api/v1/tasks/{id}/retry': tenant("does not retry acme's failed or cancelled tasks", eachTask(404)),
  'POST /api/v1/tasks/{id}/cancel': tenant("does not cancel acme's pending or running tasks", eachTask(404)),
  'GET /api/v1/tasks/{id}/objects': tenant("does not show what acme's tasks produced", eachTask(404)),
  'GET /api/v1/tasks/{id}/logs': tenant("does not show the logs of acme's tasks", eachTask(404)),
  'GET /api/v1/tasks/{id}/output': tenant("does not hand out acme's output files", eachTask(404)),

  'POST /api/v1/objects/{type}': tenant("stores its own copy of acme's objects, and none for acme's task", (a) => [
    ...ACME_OBJECTS.map(({ type, body }): Call => ({
      params: { type },
      body,
      status: 201, // created, not 200: acme's object under the same key is acme's
      check: (r) => expect(r.body.primary_key).toBe(keyOf(type, body)),
      echoes: [keyOf(type, body)],
    })),
    {
      params: { type: 'hostname' },
      query: { task_id: a.task.running },
      body: { network: 'internet', name: 'globex.example' },
      status: 404,
      check: says(`task_id: task ${a.task.running} does not exist`),
    },
  ]),
  'GET /api/v1/objects/{type}': tenant("lists none of acme's objects, whatever the filter", (a) =>
    a.objects.flatMap(({ type, data }) => [
      { params: { type }, status: 200, check: empty },
      { params: { type }, query: keyFilter(type, data), status: 200, check: empty },
    ]),
  ),
  'GET /api/v1/objects/{type}/{pk}': tenant("does not show acme's objects", eachObject(404)),
  'DELETE /api/v1/objects/{type}/{pk}': tenant("does not delete acme's objects", eachObject(404)),
  'GET /api/v1/object-tasks': tenant("lists none of acme's ObjectTasks, whatever the filter", (a) =>
    lists(
      [
        {},
        { task_id: a.task.scanned },
        { plugin_id: 'reporter' },
        { input_object: input('scanned') },
        ...a.produced.map((output_object) => ({ output_object })),
      ],
      empty,
    ),
  ),
  'GET /api/v1/object-types': open('the catalogue of object types, the same for every organization', () => [
    { status: 200 },
  ]),

  'GET /api/v1/object-sets': tenant("lists none of acme's object sets", () => [{ status: 200, check: empty }]),
  'POST /api/v1/object-sets': tenant("creates its own set under the name of acme's", (a) => [
    {
      body: { name: a.set.name, object_type: 'hostname', query: null, object_ids: a.set.members },
      status: 201, // names are unique per organization
    },
  ]),
  'GET /api/v1/object-sets/{id}': tenant("does not show acme's object set", (a) => [
    { params: { id: a.set.id }, status: 404 },
  ]),
  'PATCH /api/v1/object-sets/{id}': tenant("does not change acme's object set", (a) => [
    { params: { id: a.set.id }, body: { name: 'renamed by globex', query: '' }, status: 404 },
  ]),
  'DELETE /api/v1/object-sets/{id}': tenant("does not delete acme's object set", (a) => [
    { params: { id: a.set.id }, status: 404 },
  ]),
  'GET /api/v1/object-sets/{id}/objects': tenant(
    "lists acme's objects in no set, acme's or its own naming them",
    (a, own) => [
      { params: { id: a.set.id }, status: 404 },
      ...[own.naming, own.everything].map((id) => ({ params: { id }, status: 200, check: empty })),
    ],
    async (globex, a) => ({
      naming: await ownSet(globex, "naming acme's hostnames", null, a.set.members),
      everything: await ownSet(globex, 'every hostname', ''),
    }),
  ),

  'GET /api/v1/schedules': tenant("lists none of acme's schedules", () => [{ status: 200, check: empty }]),
  'POST /api/v1/schedules': tenant("does not schedule scans of acme's object set", (a) => [
    {
      body: { plugin_id: 'hello', object_set_id: a.set.id, interval: 'PT1H' },
      status: 400,
      check: says(`object_set_id: object set ${a.set.id} does not exist`),
    },
  ]),
  'GET /api/v1/schedules/{id}': tenant("does not show acme's schedule", (a) => [
    { params: { id: a.schedule }, status: 404 },
  ]),
  'PATCH /api/v1/schedules/{id}': tenant("does not change acme's schedule", (a) => [
    { params: { id: a.schedule }, body: { enabled: false, interval: 'PT2H' }, status: 404 },
  ]),
  'DELETE /api/v1/schedules/{id}': tenant("does not delete acme's schedule", (a) => [
    { params: { id: a.schedule }, status: 404 },
  ]),
  'POST /api/v1/schedules/{id}/run': tenant(
    "runs neither acme's schedule nor its own on acme's objects",
    (a, own) => [
      { params: { id: a.schedule }, status: 404 },
      {
        params: { id: own.schedule },
        status: 200,
        check: (r) => expect(r.body).toEqual({ tasks_created: 0 }),
      },
    ],
    async (globex, a) => {
      const set = await ownSet(globex, "naming acme's hostnames", null, a.set.members);
      const body = { plugin_id: 'hello', object_set_id: set, interval: 'P1D' };
      return { schedule: (await globex.post('/schedules/', body).expect(201)).body.id };
    },
  ),

  'GET /api/v1/scheduler': adminOnly(),
  'PATCH /api/v1/scheduler': adminOnly(() => [{ body: { enabled: false } }]),
  'PATCH /api/v1/scheduler/jobs/{name}': adminOnly(() => [
    { params: { name: 'create-scheduled-tasks' }, body: { enabled: false, cron: '*/5 * * * *' } },
  ]),
  'GET /api/v1/queues': adminOnly(),

  'GET /api/v1/business-rules': tenant("shows its own rule switches, not acme's", () => [
    { status: 200, check: (r) => expect(enabled('missing_caa', r)).toBe(true) }, // acme switched it off
  ]),
  'PATCH /api/v1/business-rules/{rule_id}': tenant('switches its own rules only', () => [
    ...[
      ['missing_caa', true],
      ['missing_spf', false],
    ].map(([rule_id, on]): Call => ({
      params: { rule_id: String(rule_id) },
      body: { enabled: on },
      status: 200,
      check: (r) => expect(r.body.enabled).toBe(on),
    })),
  ]),
  // The rule tasks end before acme's rows are compared: globex's evaluation must keep acme's finding.
  'POST /api/v1/business-rules/{rule_id}/run': tenant('evaluates rules on its own objects, by its own switches', () => [
    { params: { rule_id: 'missing_spf' }, status: 201, check: globexOwns },
    { params: { rule_id: 'missing_caa' }, status: 201, check: globexOwns }, // not 409: off for acme only
  ]),
  'GET /api/v1/finding-types': open('the catalogue of finding types, the same for every organization', () => [
    { status: 200 },
  ]),

  'GET /api/v1/reports': tenant("lists none of acme's reports", () => lists([{}, { limit: '500' }], empty)),
  'GET /api/v1/reports/{id}': tenant("does not show acme's report", (a) => [{ params: { id: a.report }, status: 404 }]),
  'GET /api/v1/reports/{id}/download': tenant("does not render acme's report", (a) => [
    { params: { id: a.report }, status: 404 },
  ]),

  'GET /api/v1/plugins': open('the plugin catalogue, shared by every organization', () => [{ status: 200 }]),
  'GET /api/v1/plugins/{plugin_id}': open('one plugin of the shared catalogue', () =>
    Object.values(PLUGIN_OF).map((plugin_id) => ({ params: { plugin_id }, status: 200 })),
  ),
  'GET /api/v1/tokens': tenant("lists its own organization's tokens, none of acme's", (a) => [
    {
      status: 200,
      check: (r) => {
        expect(r.body.results.length).toBeGreaterThan(0);
        expect(r.body.results.map((t: { organization: string }) => t.organization)).not.toContain('acme');
        expect(r.body.results.map((t: { id: number }) => String(t.id))).not.toContain(a.token);
      },
    },
  ]),
  'POST /api/v1/tokens': tenant('makes a token of its own organization, not of acme', () => [
    { body: { name: 'globex made', access: 'read' }, status: 201, check: globexOwns },
  ]),
  'GET /api/v1/tokens/{id}': tenant("does not show acme's token", (a) => [{ params: { id: a.token }, status: 404 }]),
  'DELETE /api/v1/tokens/{id}': tenant("does not revoke acme's token", (a) => [
    { params: { id: a.token }, status: 404 },
  ]),
  'GET /api/v1/audit-log': tenant("reads none of acme's entries, whatever the filter", (a) =>
    lists(
      [
        {},
        { action: 'task.cancel' },
        { target_type: 'task' },
        ...a.tasks.slice(0, 3).map((target_id) => ({ target_id })),
        { target_id: a.schedule },
      ],
      (r) => expect(r.body.results.every((e: { organization: string }) => e.organization === 'globex')).toBe(true),
    ),
  ),
  'GET /api/v1/plugins/{plugin_id}/settings': tenant("lists its own settings of a plugin, none of acme's", () => [
    {
      params: { plugin_id: 'reporter' },
      status: 200,
      check: (r) => expect(r.body).toEqual({ plugin_id: 'reporter', organization: 'globex', settings: [] }),
    },
  ]),
  'PATCH /api/v1/plugins/{plugin_id}/settings': tenant(
    "sets and deletes its own setting under the name of acme's, leaving acme's",
    () => [
      {
        params: { plugin_id: 'reporter' },
        body: { settings: { [ACME_SETTING.name]: 'globex-value' } },
        status: 200,
        check: (r) => expect(r.body).toMatchObject({ organization: 'globex', settings: [{ name: ACME_SETTING.name }] }),
      },
      {
        params: { plugin_id: 'reporter' },
        body: { settings: { [ACME_SETTING.name]: null } },
        status: 200,
        check: (r) => expect(r.body).toEqual({ plugin_id: 'reporter', organization: 'globex', settings: [] }),
      },
    ],
  ),
  'POST /api/v1/plugins': adminOnly(() => [
    {
      body: {
        plugin_id: 'globex-probe',
        name: 'probe',
        image: BUSYBOX_IMAGE,
        command: ['true'],
        consumes: ['hostname'],
      },
    },
  ]),
  'PATCH /api/v1/plugins/{plugin_id}': adminOnly((a) =>
    a.plugins.map((plugin_id) => ({
      params: { plugin_id },
      body: { enabled: false },
    })),
  ),
  'GET /api/v1/organizations': adminOnly(),
  'POST /api/v1/organizations': adminOnly(() => [{ body: { code: 'initech', name: 'Initech' } }]),

  'GET /health': open('liveness: the process answers', () => [{ status: 200 }]),
  'GET /health/ready': open('readiness: PostgreSQL and Redis answer', () => [{ status: 200 }]),
  'GET /metrics': open(
    "Prometheus scrapes it without a token: counts by status and type, no tenant's identifiers",
    () => [{ status: 200 }],
  ),
  'GET /api/docs': open(DOCS, () => [{ status: 200 }]),
  'GET /api/docs/index.html': open(DOCS, () => [{ status: 200 }]),
  // Registered by Nest's Swagger module, but swagger-ui-dist ships no LICENSE file to serve.
  'GET /api/docs/LICENSE': open(DOCS, () => [{ status: 404 }]),
  'GET /api/docs/swagger-ui-init.js': open(DOCS, () => [{ status: 200 }]),
  'GET /api/docs/docs/swagger-ui-init.js': open(DOCS, () => [{ status: 200 }]),
  'GET /api/docs-json': open(DOCS, () => [{ status: 200 }]),
  'GET /api/docs-yaml': open(DOCS, () => [{ status: 200 }]),
  'USE /api/docs': open(DOCS, () => [{ method: 'GET', below: '/swagger-ui.css', status: 200 }]),
  'USE /api/docs/docs': open(DOCS, () => [{ method: 'GET', below: '/swagger-ui.css', status: 200 }]),

  // The queue dashboard: Bull Board's own routes sit behind one admin check on the whole mount.
  'USE /admin/queues': adminOnly(() => [
    { method: 'GET' },
    { method: 'GET', below: '/api/queues' },
    { method: 'GET', below: '/api/redis/stats' },
    { method: 'PUT', below: '/api/queues/plugin/pause' },
    { method: 'PUT', below: '/api/queues/plugin/clean/completed' },
  ]),

  // The web pages, with globex's session; each form with that session's valid CSRF token.
  'GET /': open('redirects to the dashboard', () => [{ status: 302 }]),
  'GET /web.css': open('the stylesheet', () => [{ status: 200 }]),
  'GET /dashboard.js': open("the dashboard's script", () => [{ status: 200 }]),
  'GET /dashboard': tenant("counts none of acme's tasks", () => [{ status: 200, check: noAcmePlugins }]),
  'GET /dashboard/panels': tenant("counts none of acme's tasks", () => [{ status: 200, check: noAcmePlugins }]),
  'GET /sign-in': open('the sign-in form', () => [{ status: 200 }]),
  'POST /sign-in': open('signs in as the token the form carries, from its own form only', () => [
    {
      body: { token: 'kat_not-a-token', sign_in: web.signInField },
      cookie: () => web.signInCookie,
      status: 401,
      check: shows('That token is not valid.'),
    },
    { body: { token: 'kat_not-a-token' }, status: 403, check: shows('not sent from this site') },
  ]),
  'POST /sign-out': open("ends the caller's own session", () => [
    { status: 303, cookie: () => web.spareSession, body: { csrf: web.spareCsrf } },
  ]),
  'GET /tokens': tenant("lists its own tokens, none of acme's", () => [
    { status: 200, check: (r) => expect(r.text).not.toContain('acme') },
  ]),
  'POST /tokens': tenant('makes a token of its own organization only', () => [
    { body: { name: 'made on the page', access: 'read' }, status: 201, check: shows('made on the page') },
  ]),
  'POST /tokens/{id}/revoke': tenant("does not revoke acme's token from a form", (a) => [
    { params: { id: a.token }, status: 303, check: notDone },
  ]),
  'GET /audit-log': tenant("shows none of acme's entries", () =>
    lists([{}, { action: 'task.cancel' }, { action: 'schedule.run' }], shows('Audit log')),
  ),
  'GET /tasks': tenant("lists none of acme's tasks, whatever the filter", (a) =>
    lists(taskFilters(a), shows('No tasks.')),
  ),
  'GET /objects': tenant("lists none of acme's objects, whatever the search", (a) =>
    a.objects.flatMap(({ type, key }): Call[] => [
      { query: { type }, status: 200, check: shows('No objects.') },
      { query: { type, q: key }, status: 200, check: shows('No objects.') },
    ]),
  ),
  'GET /objects/{type}/{key}': tenant("does not show acme's objects", (a) =>
    a.objects.map(({ type, key }) => ({ params: { type, key }, status: 404 })),
  ),
  'GET /findings': tenant("lists none of acme's findings", () =>
    lists([{}, { severity: 'medium' }], shows('No findings.')),
  ),
  'GET /plugins': tenant("shows the catalogue, with no organization's settings", () => [
    { status: 200, check: (r) => expect(r.text).not.toContain(ACME_SETTING.name) },
  ]),
  'POST /plugins/{plugin_id}/toggle': adminOnly(() => [{ params: { plugin_id: 'hello' } }]),
  'POST /plugins/{plugin_id}/edit': adminOnly(() => [{ params: { plugin_id: 'hello' }, body: { settings: 'X=1' } }]),
  'GET /tasks/bulk/{action}': tenant("counts none of acme's tasks for a bulk action", (): Call[] => [
    { params: { action: 'retry' }, query: { plugin_id: 'breaker' }, status: 200, check: shows('<strong>0 failed') },
    {
      params: { action: 'cancel' },
      query: { plugin_id: 'sleeper', status: 'RUNNING' },
      status: 200,
      check: shows('<strong>0 pending'),
    },
  ]),
  'POST /tasks/bulk/{action}': tenant("retries and cancels none of acme's tasks from a form", () => [
    {
      params: { action: 'retry' },
      body: { plugin_id: 'breaker' },
      status: 303,
      check: noticeSays('Retried 0 task(s).'),
    },
    { params: { action: 'cancel' }, body: { input_data: input('pending') }, status: 303 },
  ]),
  'GET /tasks/{id}': tenant("does not show acme's tasks", eachTask(404)),
  'POST /tasks/{id}/run': tenant("does not queue acme's tasks from a form", eachTask(303, notDone)),
  'POST /tasks/{id}/retry': tenant("does not retry acme's tasks from a form", eachTask(303, notDone)),
  'POST /tasks/{id}/cancel': tenant("does not cancel acme's tasks from a form", eachTask(303, notDone)),
  'GET /admin/tasks/task': adminOnly(),
  'POST /admin/tasks/task/{id}/run': adminOnly((a) => a.tasks.map((id) => ({ params: { id } }))),
  'GET /schedules': tenant("lists none of acme's schedules", () => [{ status: 200, check: shows('No schedules.') }]),
  'POST /schedules/{id}/toggle': tenant("does not switch acme's schedule from a form", (a) => [
    { params: { id: a.schedule }, status: 303, check: notDone },
  ]),
  'POST /schedules/{id}/run': tenant("does not run acme's schedule from a form", (a) => [
    { params: { id: a.schedule }, status: 303, check: notDone },
  ]),
  'GET /scheduler': adminOnly(),
  'POST /scheduler/toggle': adminOnly(),
  'POST /scheduler/jobs/{name}/toggle': adminOnly(() => [{ params: { name: 'create-scheduled-tasks' } }]),
  'GET /reports': tenant("lists none of acme's reports", () => [{ status: 200, check: shows('No reports yet') }]),
  'GET /reports/{id}': tenant("does not show acme's report", (a) => [{ params: { id: a.report }, status: 404 }]),
};

function title(key: string, route: RouteCase): string {
  if (route.kind === 'tenant') return `${key}: globex ${route.does}`;
  if (route.kind === 'admin') return `${key}: admins only, globex gets 403 and changes nothing`;
  return `${key}: open, ${route.why}`;
}

describe('tenant isolation: another organization on every route', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let worker: INestApplicationContext;
  let rows: OrganizationRows;
  let acmeApi: ApiClient;
  let acme: Acme;
  let acmeId: number;
  let globexId: number;
  let globexToken: string;
  let globexApi: ApiClient;
  let globexSession: string;
  let globexCsrf: string;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.withDataSource((db) => seed(db));
    api = await startApi(environment.settings());
    // No grace: on close the worker stops the sleeping plugin at once rather than wait 30 s for it.
    worker = await startWorker(environment.settings({ SHUTDOWN_GRACE_SECONDS: '0' }));
    acmeApi = client(api, await environment.token('acme'));
    // An admin of its own organization: it may manage tokens, so the token routes are tried for real.
    globexToken = await environment.token('globex', { access: 'admin' });
    globexApi = client(api, globexToken);
    // The running task's worker moves heartbeat_at, and every worker its seen_at, every HEARTBEAT_INTERVAL_MS:
    // nobody's request changed them.
    // A token's last use is written at most once a minute, whoever's request it was.
    rows = await OrganizationRows.open(environment.databaseUrl, {
      task: ['heartbeat_at'],
      dispatch_worker: ['seen_at'],
      api_token: ['last_used_at'],
    });
    const organizations = await rows.query<{ code: string; id: number }>(`SELECT code, id FROM organization`);
    acmeId = organizations.find((o) => o.code === 'acme')!.id;
    globexId = organizations.find((o) => o.code === 'globex')!.id;
    acme = await ownAcmeData(client(api, await environment.token('acme', { admin: true })));

    ({ cookie: globexSession, csrf: globexCsrf } = await signIn(api.getHttpServer(), globexToken));
    ({ cookie: web.spareSession, csrf: web.spareCsrf } = await signIn(api.getHttpServer(), globexToken));
    const form = await signInForm(api.getHttpServer());
    [web.signInCookie, web.signInField] = [form.cookie, form.field];
  });

  afterAll(async () => {
    await rows?.close();
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  const reaches = (id: string, status: string) =>
    waitFor(
      `task ${id} to be ${status}`,
      async () => (await acmeApi.get(`/tasks/${id}/`)).body.status === status,
      60_000,
    );

  /** acme's live resources, each in a state where a missing tenant check would show. */
  async function ownAcmeData(admin: ApiClient): Promise<Acme> {
    await registerShellPlugin(admin, 'sleeper', 'sleep 300', { timeout_seconds: 600 });
    await registerShellPlugin(admin, 'breaker', 'echo "refused {name}" >&2; exit 3');
    await registerShellPlugin(
      admin,
      'reporter',
      [
        `echo '{"object_type": "hostname", "network": "internet", "name": "found.{name}"}'`,
        `echo '{"object_type": "hostname", "network": "internet", "name": "www.{name}"}'`,
        'echo "scanned {name}" >&2',
      ].join('; '),
    );
    for (const { type, body } of ACME_OBJECTS) await acmeApi.post(`/objects/${type}/`, body).expect(201);
    await acmeApi
      .patch('/plugins/reporter/settings/', { settings: { [ACME_SETTING.name]: ACME_SETTING.value } })
      .expect(200);

    const created = async (label: Label) =>
      (
        await acmeApi
          .post('/tasks/', {
            type: 'plugin',
            data: { plugin_id: PLUGIN_OF[label], input_data: input(label) },
          })
          .expect(201)
      ).body.id as string;
    // Inserted in a back-off of an hour: the admission passes it by, so nothing runs it.
    const inserted = async (label: Label) =>
      (
        await rows.query<{ id: string }>(
          `INSERT INTO task (organization_id, type, data, run_after)
       VALUES ($1, 'plugin', jsonb_build_object('plugin_id', $2::text, 'input_data', $3::text),
               now() + interval '1 hour') RETURNING id`,
          [acmeId, PLUGIN_OF[label], input(label)],
        )
      )[0].id;
    const task = {
      running: await created('running'),
      scanned: await created('scanned'),
      failed: await created('failed'),
      pending: await inserted('pending'),
      cancelled: await inserted('cancelled'),
    };
    await acmeApi.post(`/tasks/${task.cancelled}/cancel/`).expect(200);

    // missing_spf judges hostnames a COMPLETED dns_records task scanned: inserted, as business-rules.e2e-spec does.
    await rows.query(
      `INSERT INTO task (organization_id, type, status, data)
       VALUES ($1, 'plugin', 'COMPLETED', jsonb_build_object('plugin_id', 'dns_records', 'input_data', $2::text))`,
      [acmeId, input('mail')],
    );
    await reaches((await acmeApi.post('/business-rules/missing_spf/run/').expect(201)).body.id, 'COMPLETED');
    await acmeApi.patch('/business-rules/missing_caa/', { enabled: false }).expect(200);

    const members = [input('mail'), input('scanned')];
    const set = (
      await acmeApi
        .post('/object-sets/', {
          name: 'acme-only crown jewels',
          object_type: 'hostname',
          query: null,
          object_ids: members,
        })
        .expect(201)
    ).body;
    const schedule = (
      await acmeApi.post('/schedules/', { plugin_id: 'hello', object_set_id: set.id, interval: 'P1D' }).expect(201)
    ).body.id;
    expect((await acmeApi.post(`/schedules/${schedule}/run/`).expect(200)).body.tasks_created).toBe(2);
    const reportTask = (
      await acmeApi
        .post('/tasks/', {
          type: 'report',
          data: { report_type: 'findings_summary', object_set_id: set.id },
        })
        .expect(201)
    ).body.id;

    await reaches(reportTask, 'COMPLETED');
    await reaches(task.running, 'RUNNING');
    await reaches(task.scanned, 'COMPLETED');
    await reaches(task.failed, 'FAILED');
    const scheduled = (await acmeApi.get(`/tasks/?schedule_id=${schedule}`)).body.results;
    for (const { id } of scheduled) await reaches(id, 'COMPLETED');

    const report = (await acmeApi.get(`/tasks/${reportTask}/`)).body.data.result.report_id;
    expect((await acmeApi.get(`/reports/${report}/`).expect(200)).body.data.total_findings).toBe(1);
    expect((await acmeApi.get(`/tasks/${task.scanned}/logs/`)).body.stderr).toBe(`scanned ${host('scanned')}\n`);
    // An output file, as a raw-output plugin's task keeps one; acme downloads it, globex must not.
    const file = `acme-only output of ${host('scanned')}`;
    await rows.query(
      `INSERT INTO task_output (task_id, media_type, content, bytes, truncated)
       VALUES ($1, 'text/plain', $2, $3, false)`,
      [task.scanned, Buffer.from(file), file.length],
    );
    expect((await acmeApi.get(`/tasks/${task.scanned}/output/`).expect(200)).text).toBe(file);
    const tasks = await rows.query<{ id: string; input_object: string | null; plugin_id: string | null }>(
      `SELECT id, input_object, plugin_id FROM task WHERE organization_id = $1`,
      [acmeId],
    );
    const objects = await rows.query<{ type: string; key: string; data: Record<string, unknown> }>(
      `SELECT object_type AS type, primary_key AS key, data FROM object WHERE organization_id = $1`,
      [acmeId],
    );
    const produced = (
      await rows.query<{ key: string }>(`SELECT output_object AS key FROM object_task WHERE organization_id = $1`, [
        acmeId,
      ])
    ).map((p) => p.key);
    expect(produced.sort()).toEqual([`internet|found.${host('scanned')}`, `internet|www.${host('scanned')}`]);
    const distinct = (values: Array<string | null>) => [...new Set(values.filter((v): v is string => v !== null))];
    const ownedObjects = objects.filter((o) => o.type !== 'network'); // every organization has "internet"
    return {
      task,
      tasks: tasks.map((t) => t.id),
      inputs: distinct(tasks.map((t) => t.input_object)),
      plugins: distinct(tasks.map((t) => t.plugin_id)),
      objects,
      produced,
      set: { id: set.id, name: set.name, members },
      schedule,
      report,
      token: String(
        (await rows.query<{ id: number }>(`SELECT id FROM api_token WHERE organization_id = $1`, [acmeId]))[0].id,
      ),
      markers: distinct([
        ...tasks.map((t) => t.id),
        set.id,
        set.name,
        schedule,
        report,
        ADDRESS,
        ACME_SETTING.name,
        ACME_SETTING.value,
        ...ownedObjects.map((o) => o.key),
        ...ownedObjects.map((o) => (o.type === 'hostname' ? String(o.data.name) : null)),
      ]),
    };
  }

  /** globex sends `call` to the route `key`; returns what went wrong, in words. */
  async function act(key: string, call: Call): Promise<string[]> {
    const [method, template] = key.split(' ');
    const verb = (call.method ?? method).toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
    const path =
      method === 'USE'
        ? `${template}${call.below ?? ''}`
        : template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(call.params![name]));
    const query = new URLSearchParams(call.query).toString();
    const url = query ? `${path}?${query}` : path;
    const sending = request(api.getHttpServer())
      [verb](url)
      .set('Authorization', `Bearer ${globexToken}`)
      .set('Cookie', call.cookie?.() ?? globexSession);
    // The web pages' forms: url-encoded, with the session's CSRF token.
    const form = verb === 'post' && !path.startsWith('/api/');
    const response = await (form
      ? sending.type('form').send({ csrf: globexCsrf, ...call.body })
      : sending.send(call.body));

    const problems: string[] = [];
    const shown = `${response.text ?? ''}\n${decodeURIComponent(response.headers.location ?? '')}`;
    const said = `${verb.toUpperCase()} ${url} → ${response.status}`;
    if (response.status !== call.status) {
      problems.push(`${said}, expected ${call.status}: ${shown.slice(0, 300)}`);
    } else {
      try {
        call.check?.(response);
      } catch (error) {
        problems.push(`${said}: ${(error as Error).message}`);
      }
    }
    // What globex itself sent comes back in messages ("task <id> does not exist"): no leak.
    const sent = `${decodeURIComponent(url)} ${JSON.stringify(call.body ?? {})}`;
    const echoed = (m: string) => sent.includes(m) || call.echoes?.some((e) => e.includes(m));
    const leaked = acme.markers.filter((m) => shown.includes(m) && !echoed(m));
    if (leaked.length) problems.push(`${said} shows acme's ${leaked.join(', ')}`);
    return problems;
  }

  it('has a case for every route the app serves, and none for a route it no longer serves', async () => {
    const served = new Set([...(await openApiRoutes(api)), ...expressRoutes(api)]);
    expect([
      ...[...served]
        .filter((key) => !(key in ROUTES))
        .sort()
        .map(
          (key) =>
            `${key} has no case: add one to ROUTES in test/tenant-isolation.e2e-spec.ts (tenant, adminOnly or open)`,
        ),
      ...Object.keys(ROUTES)
        .filter((key) => !served.has(key))
        .map((key) => `${key} is in ROUTES but the app no longer serves it: remove or rename its case`),
    ]).toEqual([]);
  });

  // Deletions last: should one get through, the cases after it still find acme's resources.
  const cases = Object.entries(ROUTES)
    .map(([key, route]) => [title(key, route), key, route] as const)
    .sort(([, a], [, b]) => Number(a.startsWith('DELETE')) - Number(b.startsWith('DELETE')));
  it.each(cases)('%s', async (_, key, route) => {
    try {
      const own = route.kind === 'tenant' && route.own ? await route.own(globexApi, acme) : {};
      const calls =
        route.kind === 'tenant'
          ? route.calls(acme, own)
          : route.kind === 'admin'
            ? route.calls(acme).map((c) => ({ ...c, status: 403 }))
            : route.calls();
      // A non-admin naming acme is refused before anything else.
      const naming =
        route.kind !== 'tenant'
          ? []
          : calls.map((c) => ({ ...c, query: { ...c.query, organization: 'acme' }, status: 403, check: undefined }));
      const before = await rows.snapshot(acmeId);
      const problems: string[] = [];
      for (const call of [...calls, ...naming]) problems.push(...(await act(key, call)));
      // Rule and report tasks run in the worker's process within moments: what they do counts too.
      await waitFor(
        "globex's rule and report tasks to end",
        async () =>
          (
            await rows.query(
              `SELECT 1 FROM task WHERE organization_id = $1 AND type <> 'plugin' AND status IN ('PENDING', 'RUNNING')`,
              [globexId],
            )
          ).length === 0,
        15_000,
      );
      const changed = OrganizationRows.changes(before, await rows.snapshot(acmeId));
      expect({ problems, changed }).toEqual({ problems: [], changed: {} });
    } finally {
      // Each case starts with globex owning nothing, so a list shows only what leaked.
      await rows.deleteData(globexId);
    }
  });
});
