import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { seed } from '@kat/domain';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './support/browser';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { makeCertificate, startTlsServer } from './support/loopback-servers';

const OUTPUT = join(__dirname, '..', 'test-output');

/**
 * Scan → business rule → finding → report, end to end: the ssl_certificate plugin reads a
 * certificate expiring in 5 days from a loopback TLS server, check_ssl_expiry turns it into a
 * finding, a report task counts it, and the report's HTML shows it in a real headless Chromium.
 */
describe('from a scan to a report', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let worker: INestApplicationContext;
  let acme: ApiClient;
  let admin: ApiClient;
  let token: string;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.withDataSource((db) => seed(db));
    api = await startApi(environment.settings());
    worker = await startWorker(environment.settings({ PLUGIN_NETWORK: 'host' }));
    token = await environment.token('acme');
    acme = client(api, token);
    admin = client(api, await environment.token('acme', { admin: true }));
  });

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  const ended = (id: string) =>
    waitFor(
      `task ${id} to end`,
      async () => {
        const { body } = await acme.get(`/tasks/${id}/`);
        return ['COMPLETED', 'FAILED'].includes(body.status) && body;
      },
      60_000,
    );

  it('finds a certificate expiring in 5 days and reports it in a page a person can read', async () => {
    const certificate = makeCertificate('localhost', 5);
    const server = await startTlsServer(certificate);
    try {
      await admin.patch('/plugins/ssl_certificate/', { settings: { port: String(server.port) } }).expect(200);
      await acme.post('/objects/hostname/', { network: 'internet', name: 'localhost' }).expect(201);
      const scan = (
        await acme
          .post('/tasks/', { type: 'plugin', data: { plugin_id: 'ssl_certificate', input_data: 'internet|localhost' } })
          .expect(201)
      ).body;
      expect((await ended(scan.id)).status).toBe('COMPLETED');
    } finally {
      await server.close();
    }

    const ruleTask = (await acme.post('/business-rules/check_ssl_expiry/run/').expect(201)).body;
    expect(ruleTask).toMatchObject({ type: 'business_rule', data: { rule_id: 'check_ssl_expiry' } });
    expect(await ended(ruleTask.id)).toMatchObject({
      status: 'COMPLETED',
      data: { result: { created: 1, removed: 0, total: 1 } },
    });
    const serial = certificate.x509.serialNumber.toUpperCase();
    const findings = (await acme.get('/objects/finding/')).body.results;
    expect(findings).toEqual([
      expect.objectContaining({
        finding_type: 'KAT-CERTIFICATE-EXPIRING',
        ooi_type: 'certificate',
        ooi: expect.stringContaining(serial),
      }),
    ]);

    const reportTask = (
      await acme.post('/tasks/', { type: 'report', data: { report_type: 'findings_summary' } }).expect(201)
    ).body;
    const done = await ended(reportTask.id);
    expect(done).toMatchObject({ status: 'COMPLETED', data: { result: { total_findings: 1 } } });
    const report = (await acme.get(`/reports/${done.data.result.report_id}/`).expect(200)).body;
    expect(report).toMatchObject({ report_type: 'findings_summary', task_id: reportTask.id, organization: 'acme' });
    expect(report.data.by_severity).toEqual({ critical: 0, high: 0, medium: 1, low: 0, recommendation: 0 });
    expect(report.data.by_finding_type).toEqual([
      expect.objectContaining({
        code: 'KAT-CERTIFICATE-EXPIRING',
        count: 1,
        affected_objects: 1,
        objects_of_type: 1,
        share_of_objects: 1,
        recommendation: expect.stringContaining('Renew'),
      }),
    ]);
    expect(report.data.top_objects[0]).toMatchObject({ ooi_type: 'certificate', findings: 1 });
    expect((await acme.get('/reports/')).body.results.map((r: { id: string }) => r.id)).toEqual([report.id]);
    await client(api, await environment.token('globex'))
      .get(`/reports/${report.id}/`)
      .expect(404);

    // The HTML report, as a person sees it.
    const url = `http://127.0.0.1:${api.getHttpServer().address().port}/api/v1/reports/${report.id}/download/`;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const response = await page.goto(url);
      expect(response!.headers()['content-type']).toContain('text/html');
      await expect(page.locator('h1').textContent()).resolves.toBe('Findings summary');
      await expect(page.locator('h2').first().textContent()).resolves.toBe('1 finding by severity');
      const findingRow = page.locator('table').first().locator('tbody tr');
      expect(await findingRow.count()).toBe(1);
      expect(await findingRow.innerText()).toMatch(
        /medium\s+KAT-CERTIFICATE-EXPIRING\s+Certificate expires within 30 days\s+1\s+1\s+100\.0% of 1 certificate/,
      );
      expect(await page.locator('ul li').innerText()).toContain('Renew the certificate');
      const bar = page.locator('svg[aria-label="Findings by severity"] rect title', { hasText: 'medium: 1' });
      await expect(bar.count()).resolves.toBe(1);
      expect(requests).toEqual([url]); // self-contained: nothing else fetched
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, 'findings-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
