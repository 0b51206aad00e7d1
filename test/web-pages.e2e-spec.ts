import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { TaskType } from '@kat/domain';
import { TaskDispatcher } from '@kat/queue';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { launchChromium } from './support/browser';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { containersOfTask, registerShellPlugin } from './support/plugins';

const OUTPUT = join(__dirname, '..', 'test-output');

/** The operators' pages in a real headless Chromium, against the real API, worker and engine. */
describe('web pages', () => {
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
    api = await startApi(environment.settings());
    worker = await startWorker(environment.settings());
    base = `http://127.0.0.1:${api.getHttpServer().address().port}`;
    acmeToken = await environment.token('acme');
    adminToken = await environment.token('acme', { admin: true });
    acme = client(api, acmeToken);
    const admin = client(api, adminToken);
    await registerShellPlugin(admin, 'ok', 'echo "scanned {name}" >&2');
    await registerShellPlugin(admin, 'fails', 'echo "resolver 192.0.2.53 did not answer" >&2; exit 2');
    await registerShellPlugin(admin, 'slow', 'while :; do sleep 1; done'); // ends only when cancelled
    browser = await launchChromium();
    mkdirSync(OUTPUT, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  const create = async (plugin_id: string, name: string) =>
    (await acme.post('/tasks/', { type: 'plugin', data: { plugin_id, input_data: `internet|${name}` } }).expect(201))
      .body.id as string;
  const status = async (id: string) => (await acme.get(`/tasks/${id}/`)).body.status as string;
  const reaches = (id: string, wanted: string) =>
    waitFor(`task ${id} to be ${wanted}`, async () => (await status(id)) === wanted);

  async function signIn(token: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/tasks/`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/dashboard/`); // the landing page after sign-in
    await page.goto(`${base}/tasks/`);
    return page;
  }

  /** Reloads until the task's status badge says `wanted` (the page also refreshes itself). */
  const badgeBecomes = (page: Page, wanted: string) =>
    waitFor(`the page to show ${wanted}`, async () => {
      await page.reload();
      return (await page.locator('main p .badge').first().textContent()) === wanted;
    });

  it('lists tasks, shows a failed one, retries it, runs a pending one and cancels a running one', async () => {
    const completed = await create('ok', 'done.example');
    const failed = await create('fails', 'broken.example');
    await reaches(completed, 'COMPLETED');
    await reaches(failed, 'FAILED');

    const page = await signIn(acmeToken);
    const rows = page.locator('tbody tr');
    await waitFor('both rows', async () => (await rows.count()) === 2);
    const table = await page.locator('table').innerText();
    expect(table).toContain('internet|done.example');
    expect(table).toMatch(/internet\|broken\.example\s+plugin: fails\s+3\s+FAILED/);
    expect(table).toContain('plugin fails exited with code 2: resolver 192.0.2.53 did not answer');
    await page.screenshot({ path: join(OUTPUT, 'tasks-list.png'), fullPage: true });

    // The failed task: its error and traceback; fix the plugin, press Retry, watch it complete.
    await page.getByRole('link', { name: `Task ${failed.slice(-8)} details` }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe(
      'plugin fails exited with code 2: resolver 192.0.2.53 did not answer',
    );
    expect(await page.locator('pre').nth(1).textContent()).toContain('resolver 192.0.2.53 did not answer');
    await page.screenshot({ path: join(OUTPUT, 'task-detail-failed.png'), fullPage: true });
    await client(api, adminToken)
      .patch('/plugins/fails/', { command: ['sh', '-c', 'echo fixed >&2'] })
      .expect(200);
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Retrying: the task is PENDING again.');
    await badgeBecomes(page, 'COMPLETED');
    expect(await page.locator('dl').first().innerText()).toMatch(/Attempts\s+2/);

    // A pending task (no worker running): press Run task.
    await worker.close();
    const pending = await create('ok', 'pending.example');
    await page.goto(`${base}/tasks/${pending}/`);
    // No worker offers a slot: it waits for its turn, and says so with its priority.
    expect(await page.locator('dl').first().innerText()).toMatch(
      /Priority\s+3 \(1 first, 9 last\)\s+Waiting for\s+its turn: higher priorities and other organizations go first/,
    );
    await page.getByRole('button', { name: 'Run task' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Queued: a worker runs it next.');
    worker = await startWorker(environment.settings());
    await badgeBecomes(page, 'COMPLETED');

    // A running task: press Cancel; its container is stopped.
    const running = await create('slow', 'running.example');
    await reaches(running, 'RUNNING');
    await page.goto(`${base}/tasks/${running}/`);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Cancelled.');
    expect(await page.locator('main p .badge').first().textContent()).toBe('CANCELLED');
    await waitFor('the container to go', async () => (await containersOfTask(running)).length === 0);
    await page.screenshot({ path: join(OUTPUT, 'task-detail-cancelled.png'), fullPage: true });

    // Filters stay in the URL.
    await page.goto(`${base}/tasks/`);
    await page.getByLabel('status').selectOption('CANCELLED');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect(new URL(page.url()).searchParams.get('status')).toBe('CANCELLED');
    expect(await page.locator('tbody tr').count()).toBe(1);
  });

  /** The CSRF token of a signed-in page's own session, as its forms carry it. */
  const csrfOf = async (page: Page) => (await page.locator('input[name="csrf"]').first().getAttribute('value'))!;

  it("lets a second organization, with valid forms, neither see nor act on the first one's live tasks", async () => {
    const running = await create('slow', 'live-running.example');
    const cancelled = await create('slow', 'live-cancelled.example');
    await acme.post(`/tasks/${cancelled}/cancel/`).expect(200);
    // In a back-off, so only a run (which ignores run_after) would queue it.
    const pending = await environment.taskInBackOff('acme', 'ok', 'internet|live-pending.example');
    await reaches(running, 'RUNNING');

    const page = await signIn(await environment.token('globex'));
    expect(await page.locator('tbody').innerText()).toBe('No tasks.');
    expect((await page.goto(`${base}/tasks/${running}/`))!.status()).toBe(404);
    // Its own session's valid token passes the CSRF check: only the tenant check can refuse.
    const csrf = await csrfOf(page);
    const actions: Array<[string, string, string]> = [
      [running, 'cancel', 'Cancelled.'],
      [pending, 'cancel', 'Cancelled.'],
      [cancelled, 'retry', 'Retrying: the task is PENDING again.'],
      [pending, 'run', 'Queued: a worker runs it next.'],
    ];
    for (const [id, action] of actions) {
      const before = (await acme.get(`/tasks/${id}/`)).body;
      const response = await page.request.post(`${base}/tasks/${id}/${action}`, { form: { csrf } });
      expect(response.status()).toBe(404);
      const text = await response.text();
      expect(text).toContain(`Not done: task ${id} does not exist`);
      for (const detail of ['acme', before.data.input_data, before.status]) expect(text).not.toContain(detail);
      expect((await acme.get(`/tasks/${id}/`)).body).toEqual(before);
    }
    expect(await api.get(TaskDispatcher).queueFor(TaskType.PLUGIN).getJob(pending)).toBeNull();

    // Each was live: the same forms from the owner's session do it.
    const owner = await signIn(acmeToken);
    const ownerCsrf = await csrfOf(owner);
    for (const [id, action, notice] of actions.filter(([id, action]) => !(id === pending && action === 'cancel'))) {
      const response = await owner.request.post(`${base}/tasks/${id}/${action}`, { form: { csrf: ownerCsrf } });
      expect(response.status()).toBe(200);
      expect(await response.text()).toContain(notice);
    }
    await reaches(pending, 'COMPLETED');
    await acme.post(`/tasks/${cancelled}/cancel/`).expect(200);
  });

  it("refuses a form whose CSRF token is not its session's, even from the task's owner", async () => {
    const running = await create('slow', 'csrf.example');
    await reaches(running, 'RUNNING');
    const page = await signIn(acmeToken);
    const otherSession = await csrfOf(await signIn(await environment.token('acme')));
    for (const csrf of ['forged', otherSession]) {
      const cancel = await page.request.post(`${base}/tasks/${running}/cancel`, { form: { csrf } });
      expect(cancel.status()).toBe(403);
      expect(await cancel.text()).toContain('CSRF check failed');
    }
    expect(await status(running)).toBe('RUNNING');
    await acme.post(`/tasks/${running}/cancel/`).expect(200);
  });

  it('keeps the pending-task page and the queue dashboard to admins', async () => {
    const page = await signIn(adminToken);
    await page.goto(`${base}/admin/tasks/task/`);
    expect(await page.locator('h1').textContent()).toBe('Pending tasks');
    const http = request(api.getHttpServer());
    await http.get('/admin/queues').set('Authorization', `Bearer ${acmeToken}`).expect(403);
    await http.get('/admin/queues').expect(401);
    const board = await http.get('/admin/queues').set('Authorization', `Bearer ${adminToken}`).expect(200);
    expect(board.text).toContain('<title>Bull Dashboard</title>');
    const queues = await http
      .get('/admin/queues/api/queues?activeQueue=plugin&page=1')
      .set('Authorization', `Bearer ${adminToken}`)
      .expect(200);
    expect(queues.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([
      'business_rule',
      'plugin',
      'report',
    ]);
    const nonAdmin = await signIn(acmeToken);
    expect((await nonAdmin.goto(`${base}/admin/tasks/task/`))!.status()).toBe(403);
  });

  it('toggles a schedule and the scheduler from their pages', async () => {
    const set = (await acme.post('/object-sets/', { name: 'web', object_type: 'hostname', query: '' }).expect(201))
      .body;
    const schedule = (
      await acme.post('/schedules/', { plugin_id: 'ok', object_set_id: set.id, interval: 'P1D' }).expect(201)
    ).body;
    const page = await signIn(acmeToken);
    await page.goto(`${base}/schedules/`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('Schedule disabled.');
    expect((await acme.get(`/schedules/${schedule.id}/`)).body.enabled).toBe(false);
    await page.getByRole('button', { name: 'Run now' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toBe('0 task(s) created.');

    const admin = await signIn(adminToken);
    await admin.goto(`${base}/scheduler/`);
    await admin.getByRole('button', { name: 'Disable the scheduler' }).click();
    await expect(admin.getByRole('status').textContent()).resolves.toBe('Scheduler disabled.');
    expect((await client(api, adminToken).get('/scheduler/')).body.enabled).toBe(false);
    await admin.getByRole('button', { name: 'Enable the scheduler' }).click();
    expect((await client(api, adminToken).get('/scheduler/')).body.enabled).toBe(true);
    await admin.screenshot({ path: join(OUTPUT, 'scheduler.png'), fullPage: true });
  });

  it('serves Prometheus metrics whose task counts move when a task completes', async () => {
    const http = request(api.getHttpServer());
    const completed = async () => {
      const text = (
        await http
          .get('/metrics')
          .expect(200)
          .expect('Content-Type', /text\/plain/)
      ).text;
      for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
        expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? -?[0-9.e+-]+|NaN$/);
      }
      expect(text).toMatch(/^# TYPE kat_queue_jobs gauge$/m);
      return Number(/^kat_tasks\{status="COMPLETED",type="plugin"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await completed();
    await reaches(await create('ok', 'metrics.example'), 'COMPLETED');
    expect(await completed()).toBe(before + 1);
  });
});
