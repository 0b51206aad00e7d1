import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { seed } from '@kat/domain';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { launchChromium } from './support/browser';
import { TestEnvironment, waitFor } from './support/environment';
import { registerShellPlugin } from './support/plugins';

const OUTPUT = join(__dirname, '..', 'test-output');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const FAILURE = 'resolver 192.0.2.53 did not answer';

/**
 * The operator console in Chromium, on a real run (real containers, a real worker): the dashboard's
 * numbers, its live update without a reload, and an accessibility check of each page with axe-core.
 */
describe('operator console', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let worker: INestApplicationContext;
  let browser: Browser;
  let acme: ApiClient;
  let acmeToken: string;
  let adminToken: string;
  let base: string;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.withDataSource((db) => seed(db)); // the finding types, and the built-in plugins
    api = await startApi(environment.settings());
    worker = await startWorker(environment.settings());
    base = `http://127.0.0.1:${api.getHttpServer().address().port}`;
    acmeToken = await environment.token('acme');
    adminToken = await environment.token('acme', { admin: true });
    acme = client(api, acmeToken);
    const admin = client(api, adminToken);
    await registerShellPlugin(admin, 'ok', 'echo "scanned {name}" >&2');
    await registerShellPlugin(admin, 'fails', `echo "${FAILURE}" >&2; exit 2`);
    await client(api, await environment.token('globex')).post('/tasks/', {
      type: 'plugin',
      data: { plugin_id: 'fails', input_data: 'internet|globex-only.example' },
    });
    // A real run: two tasks complete, one fails.
    const ended = await Promise.all(
      [
        ['ok', 'a.example'],
        ['ok', 'b.example'],
        ['fails', 'c.example'],
      ].map(([plugin, name]) => run(plugin, name)),
    );
    expect(ended).toEqual(['COMPLETED', 'COMPLETED', 'FAILED']);
    browser = await launchChromium();
    mkdirSync(OUTPUT, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  async function run(pluginId: string, name: string): Promise<string> {
    const { body } = await acme
      .post('/tasks/', { type: 'plugin', data: { plugin_id: pluginId, input_data: `internet|${name}` } })
      .expect(201);
    return waitFor(`task ${body.id} to end`, async () => {
      const { status } = (await acme.get(`/tasks/${body.id}/`)).body;
      return ['COMPLETED', 'FAILED'].includes(status) && status;
    });
  }

  async function signIn(token: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/dashboard/`);
    return page;
  }

  /** axe-core's serious and critical violations on the page as it is now, as "rule: targets". */
  async function seriousViolations(page: Page): Promise<string[]> {
    await page.evaluate(AXE); // evaluated by the browser's debugger, not a script of the page: the CSP stays
    const violations = (await page.evaluate('axe.run().then((result) => result.violations)')) as Array<{
      id: string;
      impact: string;
      nodes: Array<{ target: string[] }>;
    }>;
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }

  it('serves the same numbers as JSON, of the caller only', async () => {
    const { body } = await acme.get('/dashboard/').expect(200);
    expect(body.hourly).toHaveLength(24);
    expect(body.queue).toEqual({ pending_by_priority: [], pending_by_organization: null, running: 0 });
    expect(body.plugins).toEqual([
      expect.objectContaining({ plugin_id: 'fails', ended: 1, failed: 1, failure_rate: 1 }),
      expect.objectContaining({ plugin_id: 'ok', ended: 2, failed: 0, failure_rate: 0 }),
    ]);
    expect(body.plugins[1].p50_seconds).toBeGreaterThan(0);
    expect(body.errors).toEqual([
      { error: `plugin fails exited with code 2: ${FAILURE}`, plugin_id: 'fails', count: 1 },
    ]);

    // A waiting task: counted by its priority, and, for an admin of all organizations, by organization.
    const waiting = await environment.taskInBackOff('acme', 'ok', 'internet|waiting.example');
    expect((await acme.get('/dashboard/')).body.queue.pending_by_priority).toEqual([{ priority: 3, pending: 1 }]);
    expect((await client(api, adminToken).get('/dashboard/')).body.queue.pending_by_organization).toEqual([
      { organization: 'acme', pending: 1 },
    ]);
    await acme.post(`/tasks/${waiting}/cancel/`).expect(200);
  });

  it('lands on the dashboard with the charts of a real run, and updates itself without a reload', async () => {
    const page = await signIn(acmeToken);
    const tile = async (id: string) => Number(await page.locator(`#${id}`).textContent());
    expect(await tile('completed')).toBe(2);
    expect(await tile('failed')).toBe(1);
    expect(await tile('running')).toBe(0);
    // The hourly chart: this hour's bar says what it counts; the plugin table and the error list.
    const hourBar = page.locator('svg.chart g title').last();
    expect(await hourBar.textContent()).toMatch(/UTC: 2 completed, 1 failed$/);
    expect(await page.locator('svg.chart desc').textContent()).toContain('2 completed, 1 failed');
    const plugins = page.locator('section[aria-labelledby="plugins-heading"] tbody tr');
    expect(await plugins.allInnerTexts()).toEqual([
      expect.stringMatching(/^fails\t1\t1\t\s*100 %/),
      expect.stringMatching(/^ok\t2\t0\t\s*0 %/),
    ]);
    expect(await page.locator('section[aria-labelledby="errors-heading"] tbody').innerText()).toContain(FAILURE);
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });

    // Live: a task completes; the tile moves on the same page (a reload would lose the marker).
    await page.evaluate("window.marker = 'still this page'");
    expect(await run('ok', 'd.example')).toBe('COMPLETED');
    await waitFor('the completed tile to show 3', async () => (await tile('completed')) === 3, 20_000);
    expect(await page.evaluate('window.marker')).toBe('still this page');
  });

  it("shows an admin every organization's waiting tasks", async () => {
    const page = await signIn(adminToken);
    await page.goto(`${base}/dashboard/`); // all organizations
    expect(await page.locator('section[aria-labelledby="plugins-heading"] tbody').innerText()).toContain('fails');
    expect(await page.getByRole('heading', { name: 'By organization' }).count()).toBe(1);
  });

  it('has no serious accessibility violations, and works from the keyboard', async () => {
    const page = await signIn(acmeToken);
    expect(await seriousViolations(page)).toEqual([]);
    // Tab from the top: the first stop is the home link, then the navigation, in order.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('KAT');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Tasks');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/tasks/`);
    expect(await seriousViolations(page)).toEqual([]);
  });

  it("retries a filter's failed tasks from the list, the count confirmed first, no other organization's", async () => {
    expect(await run('fails', 'e.example')).toBe('FAILED');
    const tasksOf = async (who: ApiClient, query: string) =>
      (await who.get(`/tasks/?${query}`)).body.results as Array<{ id: string; status: string; attempts: number }>;
    const globex = client(api, await environment.token('globex'));
    const [globexFailed] = await tasksOf(globex, 'plugin_id=fails');
    await waitFor(
      "globex's task to fail",
      async () => (await tasksOf(globex, 'plugin_id=fails'))[0].status === 'FAILED',
    );
    const completedBefore = await tasksOf(acme, 'plugin_id=ok');

    const page = await signIn(acmeToken);
    await page.goto(`${base}/tasks/?plugin_id=fails&status=FAILED`);
    await page.getByRole('link', { name: 'retry the failed or cancelled…' }).click();
    await page.waitForURL(/\/tasks\/bulk\/retry\?/);
    expect(await page.locator('main p strong').textContent()).toBe('2 failed or cancelled task(s)');
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'bulk-retry-confirm.png'), fullPage: true });
    await page.getByRole('button', { name: 'Retry 2 failed or cancelled task(s)' }).click();
    await page.waitForURL(/\/tasks\/\?/);
    expect(await page.getByRole('status').textContent()).toBe('Retried 2 task(s).');

    // The two ran again (and failed again: attempts 2); nothing else moved.
    await waitFor('both retried tasks to fail again', async () => {
      const again = await tasksOf(acme, 'plugin_id=fails');
      return again.length === 2 && again.every((t) => t.status === 'FAILED' && t.attempts === 2);
    });
    expect(await tasksOf(acme, 'plugin_id=ok')).toEqual(completedBefore);
    expect((await globex.get(`/tasks/${globexFailed.id}/`)).body).toMatchObject({ status: 'FAILED', attempts: 1 });
  });

  it("follows an object to the tasks around it, and back: the chain's links go both ways", async () => {
    const admin = client(api, adminToken);
    const found = `echo '{"object_type": "hostname", "network": "internet", "name": "found.{name}"}'`;
    await registerShellPlugin(admin, 'finder', found);
    await acme.post('/objects/hostname/', { network: 'internet', name: 'start.example' }).expect(201);
    expect(await run('finder', 'start.example')).toBe('COMPLETED');
    expect(await run('ok', 'found.start.example')).toBe('COMPLETED');
    const section = (page: Page, heading: string) => page.locator(`h2:text-is("${heading}") + .table-wrap`);

    const page = await signIn(acmeToken);
    await page.goto(`${base}/objects/?type=hostname&q=FOUND.start`);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'internet|found.start.example' }).click();
    await page.waitForURL(/\/objects\/hostname\/internet%7Cfound\.start\.example\/$/);
    // Backwards: the finder task produced it from start.example; forwards: the ok task took it.
    expect(await section(page, 'Produced by').innerText()).toMatch(
      /task \w{8}\tfinder\tCOMPLETED\thostname internet\|start\.example/,
    );
    expect(await section(page, 'Consumed by').innerText()).toMatch(/task \w{8}\tok\tCOMPLETED\t—/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'object.png'), fullPage: true });

    await section(page, 'Produced by').getByRole('link', { name: 'hostname internet|start.example' }).click();
    await page.waitForURL(/internet%7Cstart\.example\/$/);
    expect(await section(page, 'Produced by').innerText()).toContain('No task produced it.');
    // From the input, its consumer's output leads back to where we started.
    await section(page, 'Consumed by').getByRole('link', { name: 'hostname internet|found.start.example' }).click();
    await page.waitForURL(/internet%7Cfound\.start\.example\/$/);
    await section(page, 'Consumed by')
      .getByRole('link', { name: /^task / })
      .click();
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}\/$/);
    expect(await page.locator('dd').allInnerTexts()).toContain('plugin');
  });

  it("shows a task's timeline and the tasks chained from it, and each child leads back", async () => {
    const admin = client(api, adminToken);
    await registerShellPlugin(admin, 'rawp', 'echo "raw bytes of {name}"', { output: 'raw', media_type: 'text/plain' });
    await registerShellPlugin(admin, 'rawp_reader', 'true', { consumes: ['file:rawp'] });
    const { body: raw } = await acme
      .post('/tasks/', { type: 'plugin', data: { plugin_id: 'rawp', input_data: 'internet|chain.example' } })
      .expect(201);
    const child = await waitFor('the normalizer to be chained and to end', async () => {
      const [found] = (await acme.get(`/tasks/?input_data=${raw.id}`)).body.results;
      return found?.status === 'COMPLETED' && found;
    });
    const section = (page: Page, heading: string) => page.locator(`h2:text-is("${heading}") + *`);

    const page = await signIn(acmeToken);
    await page.goto(`${base}/tasks/${raw.id}/`);
    const timeline = await section(page, 'Timeline').innerText();
    expect(timeline).toMatch(/^Created\n.+\nWaited\n\d+\.\d s\nStarted\n.+\nRan\n\d+\.\d s\nEnded\n.+$/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'task-chain.png'), fullPage: true });
    await section(page, 'Tasks chained from it')
      .getByRole('link', { name: `task ${child.id.slice(-8)}` })
      .click();
    await page.waitForURL(`${base}/tasks/${child.id}/`);
    await page.getByRole('link', { name: raw.id }).click(); // its "Parent task"
    await page.waitForURL(`${base}/tasks/${raw.id}/`);
  });

  it('lists findings by severity with the object each is about and the task that observed it', async () => {
    const acmeId = (
      await environment.withDataSource((db) => db.query(`SELECT id FROM organization WHERE code = 'acme'`))
    )[0].id;
    // missing_spf judges hostnames a COMPLETED dns_records task scanned (as business-rules.e2e-spec does).
    await acme.post('/objects/hostname/', { network: 'internet', name: 'nospf.example' }).expect(201);
    const record = { network: 'internet', hostname: 'nospf.example', record_type: 'A', value: '192.0.2.7', ttl: 300 };
    await acme.post('/objects/dnsrecord/', record).expect(201); // it resolves, and has no SPF record
    const [{ id: scan }] = await environment.withDataSource((db) =>
      db.query(
        `INSERT INTO task (organization_id, type, status, data, started_at, ended_at)
         VALUES ($1, 'plugin', 'COMPLETED', '{"plugin_id": "dns_records", "input_data": "internet|nospf.example"}',
                 now(), now()) RETURNING id`,
        [acmeId],
      ),
    );
    const { body: rule } = await acme.post('/business-rules/missing_spf/run/').expect(201);
    await waitFor('the rule to run', async () => (await acme.get(`/tasks/${rule.id}/`)).body.status === 'COMPLETED');

    const page = await signIn(acmeToken);
    await page.goto(`${base}/findings/?severity=medium`);
    const row = page.locator('tbody tr', { hasText: 'nospf.example' });
    expect(await row.innerText()).toMatch(/^medium\t.+\thostname internet\|nospf\.example\t/);
    expect(await row.getByRole('link', { name: `dns_records ${scan.slice(-8)}` }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'findings.png'), fullPage: true });
    await page.goto(`${base}/findings/?severity=critical`);
    expect(await page.locator('tbody').innerText()).toBe('No findings.');
  });

  it('shows the plugin catalogue to everyone, and lets only admins switch a plugin off and on', async () => {
    const reader = await signIn(acmeToken);
    await reader.goto(`${base}/plugins/`);
    expect(await reader.locator('tbody tr', { hasText: 'dns_records' }).innerText()).toContain('enabled');
    expect(await reader.getByRole('button', { name: 'Disable' }).count()).toBe(0);
    expect(await seriousViolations(reader)).toEqual([]);

    const page = await signIn(adminToken);
    await page.goto(`${base}/plugins/`);
    await page.locator('tbody tr', { hasText: 'http_headers' }).getByRole('button', { name: 'Disable' }).click();
    expect(await page.getByRole('status').textContent()).toBe('http_headers disabled.');
    expect((await client(api, adminToken).get('/plugins/http_headers/')).body.enabled).toBe(false);
    await page.locator('tbody tr', { hasText: 'http_headers' }).getByRole('button', { name: 'Enable' }).click();
    expect((await client(api, adminToken).get('/plugins/http_headers/')).body.enabled).toBe(true);

    // Limits and settings, checked by the API's own rules.
    const edit = async (fields: Record<string, string>) => {
      const row = page.locator('tbody tr', { hasText: 'http_headers' });
      await row.getByText('Edit limits and settings of http_headers').click();
      for (const [label, value] of Object.entries(fields)) await row.getByLabel(label, { exact: true }).fill(value);
      await row.getByRole('button', { name: 'Save' }).click();
      return page.getByRole('status').textContent();
    };
    expect(await edit({ 'rate limit key': '{name}', 'at once': '2', 'settings (NAME=value)': 'TIMEOUT_MS=1500' })).toBe(
      'http_headers changed.',
    );
    expect((await client(api, adminToken).get('/plugins/http_headers/')).body).toMatchObject({
      rate_limit: { key: '{name}', concurrency: 2 },
      settings: { TIMEOUT_MS: '1500' },
    });
    expect(await edit({ 'per minute': '-5' })).toBe(
      'Not done: rate_limit.per_minute must be an integer from 1 to 100000',
    );
    expect(await edit({ 'rate limit key': '{address}', 'per minute': '' })).toBe(
      'Not done: rate_limit.key: hostname has no key field {address}',
    );
    expect((await client(api, adminToken).get('/plugins/http_headers/')).body.rate_limit).toEqual({
      key: '{name}',
      concurrency: 2,
    });
    await page.locator('tbody tr', { hasText: 'http_headers' }).getByText('Edit limits and settings').click();
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'plugins.png'), fullPage: true });
  });

  it('has no serious accessibility violations on any other page either', async () => {
    const signInPage = await (await browser.newContext()).newPage();
    await signInPage.goto(`${base}/sign-in`);
    expect(await seriousViolations(signInPage)).toEqual([]);
    const page = await signIn(adminToken);
    const seen: Record<string, string[]> = {};
    for (const path of ['/schedules/', '/reports/', '/audit-log/', '/tokens/', '/admin/tasks/task/', '/scheduler/']) {
      await page.goto(`${base}${path}?organization=acme`);
      seen[path] = await seriousViolations(page);
    }
    expect(seen).toEqual(Object.fromEntries(Object.keys(seen).map((path) => [path, []])));
  });
});
