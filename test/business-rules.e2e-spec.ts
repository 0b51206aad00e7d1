import { INestApplication } from '@nestjs/common';
import { BUSINESS_RULES, findRule, RuleEngine, seed } from '@kat/domain';
import { RunBusinessRulesJob } from '@kat/scheduling';
import { ApiClient, client, startApi, startScheduler } from './support/apps';
import { TestEnvironment } from './support/environment';

/**
 * Each business rule on real PostgreSQL: a fixture where it must fire and one where it must not,
 * evaluated twice (no duplicates), then changed so the finding disappears; `requires` holds a
 * finding back until a COMPLETED task of the required plugin scanned or produced the object.
 */
describe('business rules', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let acme: ApiClient;
  let engine: RuleEngine;
  let organizationId: number;
  const sql = (query: string, params?: unknown[]) => environment.withDataSource((db) => db.query(query, params));

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.withDataSource((db) => seed(db));
    api = await startApi(environment.settings());
    acme = client(api, await environment.token('acme'));
    engine = api.get(RuleEngine);
    [{ id: organizationId }] = await sql(`SELECT id FROM organization WHERE code = 'acme'`);
  });

  afterAll(async () => {
    await api?.close();
    await environment?.destroy();
  });

  const post = async (type: string, objects: object | object[]) => (await acme.post(`/objects/${type}/`, objects)).body;

  /** A task of `pluginId` with `status` that scanned `input` and produced `outputs`. */
  async function scanned(
    pluginId: string,
    input: string,
    outputs: Array<[string, string]> = [],
    status = 'COMPLETED',
  ): Promise<string> {
    const [{ id }] = await sql(
      `INSERT INTO task (organization_id, type, status, data)
       VALUES ($1, 'plugin', $2, jsonb_build_object('plugin_id', $3::text, 'input_data', $4::text)) RETURNING id`,
      [organizationId, status, pluginId, input],
    );
    for (const [type, key] of outputs) {
      await sql(
        `INSERT INTO object_task (organization_id, task_id, plugin_id, input_object, output_type, output_object)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [organizationId, id, pluginId, input, type, key],
      );
    }
    return id;
  }

  const evaluate = (ruleId: string) => engine.evaluate(findRule(ruleId)!, organizationId);
  const findings = async (ruleId: string) =>
    (
      await sql(`SELECT primary_key FROM object WHERE object_type = 'finding' AND data->>'rule_id' = $1 ORDER BY 1`, [
        ruleId,
      ])
    ).map((r: { primary_key: string }) => r.primary_key);

  /** Evaluates twice: the second run creates nothing and removes nothing. */
  async function evaluateTwice(ruleId: string, expected: string[]) {
    const first = await evaluate(ruleId);
    expect(await findings(ruleId)).toEqual(expected);
    expect(await evaluate(ruleId)).toEqual({ rule_id: ruleId, created: 0, removed: 0, total: expected.length });
    return first;
  }

  const isoIn = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const certificate = (hostname: string, serial: string, notAfter: string) => ({
    network: 'internet',
    hostname,
    port: 443,
    serial,
    subject: `CN=${hostname}`,
    issuer: 'CN=Test CA',
    not_before: isoIn(-60),
    not_after: notAfter,
  });

  it('check_ssl_expiry: expired and expiring certificates, and only the latest one per hostname and port', async () => {
    const expired = certificate('expired.example', 'AA01', isoIn(-1));
    const expiring = certificate('expiring.example', 'AA02', isoIn(5));
    const fine = certificate('fine.example', 'AA03', isoIn(90));
    for (const c of [expired, expiring, fine]) await post('certificate', c);
    const key = (c: typeof fine) => `internet|${c.hostname}|443|${c.serial}`;
    // Produced by a FAILED scan only: not yet a finding.
    await scanned('ssl_certificate', 'internet|expiring.example', [['certificate', key(expiring)]], 'FAILED');
    await scanned('ssl_certificate', 'internet|expired.example', [['certificate', key(expired)]]);
    await scanned('ssl_certificate', 'internet|fine.example', [['certificate', key(fine)]]);
    expect(
      await evaluateTwice('check_ssl_expiry', [`KAT-CERTIFICATE-EXPIRED|certificate|${key(expired)}`]),
    ).toMatchObject({ created: 1, total: 1 });

    await scanned('ssl_certificate', 'internet|expiring.example', [['certificate', key(expiring)]]);
    await evaluateTwice('check_ssl_expiry', [
      `KAT-CERTIFICATE-EXPIRED|certificate|${key(expired)}`,
      `KAT-CERTIFICATE-EXPIRING|certificate|${key(expiring)}`,
    ]);
    const finding = (
      await acme.get(`/objects/finding/${encodeURIComponent(`KAT-CERTIFICATE-EXPIRING|certificate|${key(expiring)}`)}/`)
    ).body;
    expect(finding).toMatchObject({
      finding_type: 'KAT-CERTIFICATE-EXPIRING',
      ooi_type: 'certificate',
      ooi: key(expiring),
      evidence: expect.stringContaining('expiring.example:443'),
    });

    // The certificate is renewed: the newer one is what the host serves now.
    const renewed = certificate('expiring.example', 'AA04', isoIn(90));
    await post('certificate', renewed);
    await scanned('ssl_certificate', 'internet|expiring.example', [['certificate', key(renewed)]]);
    expect(await evaluate('check_ssl_expiry')).toMatchObject({ created: 0, removed: 1, total: 1 });
    expect(await findings('check_ssl_expiry')).toEqual([`KAT-CERTIFICATE-EXPIRED|certificate|${key(expired)}`]);
  });

  describe('DNS rules', () => {
    beforeAll(async () => {
      await post('hostname', [
        { network: 'internet', name: 'bare.example' },
        { network: 'internet', name: 'good.example' },
        { network: 'internet', name: 'unscanned.example' },
      ]);
      await post('dnsrecord', [
        { network: 'internet', hostname: 'bare.example', record_type: 'A', value: '192.0.2.1' },
        { network: 'internet', hostname: 'good.example', record_type: 'A', value: '192.0.2.2' },
        { network: 'internet', hostname: 'good.example', record_type: 'TXT', value: 'v=spf1 -all' },
        { network: 'internet', hostname: 'good.example', record_type: 'CAA', value: '0 issue "letsencrypt.org"' },
        { network: 'internet', hostname: '_dmarc.good.example', record_type: 'TXT', value: 'v=DMARC1; p=reject' },
        { network: 'internet', hostname: 'unscanned.example', record_type: 'A', value: '192.0.2.3' },
      ]);
      await scanned('dns_records', 'internet|bare.example');
      await scanned('dns_records', 'internet|good.example');
    });

    it.each([
      ['missing_spf', 'KAT-NO-SPF', { record_type: 'TXT', value: 'v=spf1 include:_spf.example -all' }, 'bare.example'],
      ['missing_dmarc', 'KAT-NO-DMARC', { record_type: 'TXT', value: 'v=DMARC1; p=none' }, '_dmarc.bare.example'],
      ['missing_caa', 'KAT-NO-CAA', { record_type: 'CAA', value: '0 issue "pki.example"' }, 'bare.example'],
    ])(
      '%s fires on a scanned hostname without the record, and stops once it has one',
      async (ruleId, code, fix, fixHostname) => {
        // unscanned.example lacks the record too, but no dns_records task has scanned it.
        expect(await evaluateTwice(ruleId, [`${code}|hostname|internet|bare.example`])).toMatchObject({
          created: 1,
          total: 1,
        });
        await post('dnsrecord', { network: 'internet', hostname: fixHostname, ...fix });
        expect(await evaluate(ruleId)).toMatchObject({ created: 0, removed: 1, total: 0 });
        expect(await findings(ruleId)).toEqual([]);
      },
    );
  });

  describe('port rules', () => {
    const port = (p: number) => ({
      network: 'internet',
      address: '192.0.2.9',
      protocol: 'tcp',
      port: p,
      state: 'open',
    });
    const key = (p: number) => `internet|192.0.2.9|tcp|${p}`;

    beforeAll(async () => {
      await post('ipport', [5432, 6379, 443, 22, 3389, 8080].map(port));
      await scanned(
        'port_scan',
        'internet|192.0.2.9',
        [5432, 6379, 443, 22, 3389, 8080].map((p) => ['ipport', key(p)]),
      );
    });

    it.each([
      ['open_database_port', 'KAT-OPEN-DATABASE-PORT', [5432, 6379]],
      ['open_sysadmin_port', 'KAT-OPEN-SYSADMIN-PORT', [22, 3389]],
    ])('%s fires on exactly those open ports, and stops when one is gone', async (ruleId, code, ports) => {
      await evaluateTwice(ruleId, (ports as number[]).map((p) => `${code}|ipport|${key(p)}`).sort());
      await acme.delete(`/objects/ipport/${key((ports as number[])[0])}/`).expect(204);
      expect(await evaluate(ruleId)).toMatchObject({ removed: 1, total: 1 });
    });
  });

  it('missing_security_headers: one finding per missing header of a scanned site', async () => {
    const header = (hostname: string, name: string, value = 'x') => ({
      network: 'internet',
      hostname,
      scheme: 'https',
      port: 443,
      name,
      value,
    });
    await post('hostname', [
      { network: 'internet', name: 'secure.example' },
      { network: 'internet', name: 'plain.example' },
    ]);
    await post('httpheader', [
      ...[
        'strict-transport-security',
        'content-security-policy',
        'x-frame-options',
        'x-content-type-options',
        'server',
      ].map((n) => header('secure.example', n)),
      header('plain.example', 'server'),
      header('plain.example', 'x-frame-options'),
    ]);
    await scanned('http_headers', 'internet|secure.example');
    await scanned('http_headers', 'internet|plain.example');
    await evaluateTwice(
      'missing_security_headers',
      ['KAT-NO-CSP', 'KAT-NO-HSTS', 'KAT-NO-X-CONTENT-TYPE-OPTIONS'].map((c) => `${c}|hostname|internet|plain.example`),
    );
    await post('httpheader', header('plain.example', 'strict-transport-security', 'max-age=31536000'));
    expect(await evaluate('missing_security_headers')).toMatchObject({ created: 0, removed: 1, total: 2 });
  });

  it('a rule switched off for an organization holds no findings there', async () => {
    expect(
      (await acme.get('/business-rules/')).body.results.map((r: { rule_id: string; enabled: boolean }) => [
        r.rule_id,
        r.enabled,
      ]),
    ).toEqual(BUSINESS_RULES.map((r) => [r.rule_id, true]));
    await acme.patch('/business-rules/check_ssl_expiry/', { enabled: false }).expect(200);
    expect(await evaluate('check_ssl_expiry')).toMatchObject({ created: 0, removed: 1, total: 0 });
    await acme.post('/business-rules/check_ssl_expiry/run/').expect(409);
    await acme.patch('/business-rules/check_ssl_expiry/', { enabled: true }).expect(200);
    expect(await evaluate('check_ssl_expiry')).toMatchObject({ created: 1, total: 1 });
    await acme.patch('/business-rules/nope/', { enabled: false }).expect(404);
  });

  it('run-business-rules creates one task per organization, none while one is active', async () => {
    await environment.token('globex');
    const scheduler = await startScheduler(environment.settings({ SCHEDULER_ENABLED: 'false' }));
    try {
      const job = scheduler.get(RunBusinessRulesJob);
      expect(await job.run()).toEqual({ tasks_created: 3, tasks_queued: 3 }); // acme, globex and the seed's demo
      expect(await job.run()).toEqual({ tasks_created: 0, tasks_queued: 0 });
      const tasks = await sql(
        `SELECT o.code, t.data FROM task t JOIN organization o ON o.id = t.organization_id
         WHERE t.type = 'business_rule' ORDER BY 1`,
      );
      expect(tasks).toEqual(['acme', 'demo', 'globex'].map((code) => ({ code, data: { rule_id: 'all' } })));
    } finally {
      await scheduler.close();
    }
  });

  it('lists the seeded finding types with their severity', async () => {
    const types = (await acme.get('/finding-types/')).body.results;
    expect(types.map((t: { code: string }) => t.code)).toContain('KAT-NO-SPF');
    expect(types.find((t: { code: string }) => t.code === 'KAT-OPEN-DATABASE-PORT')).toMatchObject({
      severity: 'high',
      score: 8.5,
    });
    const codes = new Set(types.map((t: { code: string }) => t.code));
    for (const rule of BUSINESS_RULES) for (const code of rule.finding_types) expect(codes).toContain(code);
  });
});
