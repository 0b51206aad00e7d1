import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { seed } from '@kat/domain';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import {
  closedPort,
  makeCertificate,
  startDnsServer,
  startTcpListeners,
  startTlsServer,
  startWebServer,
} from './support/loopback-servers';

/**
 * The built-in plugins of the kat-plugins image, each run in a real container against a server
 * the test starts on loopback; each asserts the exact objects and ObjectTasks, and that running
 * the same scan again adds no duplicate object.
 */
describe('built-in plugins', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let worker: INestApplicationContext;
  let acme: ApiClient;
  let admin: ApiClient;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.withDataSource((db) => seed(db));
    api = await startApi(environment.settings());
    worker = await startWorker(environment.settings({ PLUGIN_NETWORK: 'host' }));
    acme = client(api, await environment.token('acme'));
    admin = client(api, await environment.token('acme', { admin: true }));
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  /** Runs plugin on input to its end; returns the task and the keys of the objects it produced. */
  async function scan(pluginId: string, input: string) {
    const { body } = await acme
      .post('/tasks/', { type: 'plugin', data: { plugin_id: pluginId, input_data: input } })
      .expect(201);
    const task = await waitFor(
      `${pluginId} on ${input} to end`,
      async () => {
        const { body: t } = await acme.get(`/tasks/${body.id}/`);
        return ['COMPLETED', 'FAILED'].includes(t.status) && t;
      },
      60_000,
    );
    const records = (await acme.get(`/tasks/${body.id}/objects/?limit=500`)).body.results;
    for (const record of records)
      expect(record).toMatchObject({ task_id: body.id, plugin_id: pluginId, input_object: input });
    const produced = records
      .map((r: { output_type: string; output_object: string }) => `${r.output_type} ${r.output_object}`)
      .sort();
    return { task, produced };
  }

  /** Every object of the organization, as "type key". */
  async function allObjects(): Promise<string[]> {
    const keys: string[] = [];
    for (const type of ['network', 'hostname', 'ipaddress', 'ipport', 'dnsrecord', 'certificate', 'httpheader']) {
      keys.push(
        ...(await acme.get(`/objects/${type}/?limit=500`)).body.results.map(
          (o: { primary_key: string }) => `${type} ${o.primary_key}`,
        ),
      );
    }
    return keys.sort();
  }

  /** Scans twice: the second run produces the same objects and adds none to the store. */
  async function scanTwice(pluginId: string, input: string) {
    const first = await scan(pluginId, input);
    expect(first.task.status).toBe('COMPLETED');
    const stored = await allObjects();
    const second = await scan(pluginId, input);
    expect(second.task.status).toBe('COMPLETED');
    expect(second.produced).toEqual(first.produced);
    expect(await allObjects()).toEqual(stored);
    return first;
  }

  const configure = (pluginId: string, settings: Record<string, string>) =>
    admin.patch(`/plugins/${pluginId}/`, { settings }).expect(200);

  it('dns_records reads every record type from the configured resolver', async () => {
    const dns = await startDnsServer([
      { name: 'scan.example', type: 'A', ttl: 300, data: '192.0.2.1' },
      { name: 'scan.example', type: 'AAAA', ttl: 300, data: '2001:db8::1' },
      { name: 'scan.example', type: 'MX', ttl: 300, data: { preference: 10, exchange: 'mail.scan.example' } },
      { name: 'scan.example', type: 'NS', ttl: 300, data: 'ns1.scan.example' },
      { name: 'scan.example', type: 'TXT', ttl: 300, data: 'v=spf1 -all' },
      { name: 'scan.example', type: 'CAA', ttl: 300, data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } },
      { name: 'www.scan.example', type: 'CNAME', ttl: 300, data: 'scan.example' },
      { name: '_dmarc.scan.example', type: 'TXT', ttl: 300, data: 'v=DMARC1; p=reject' },
    ]);
    closers.push(dns.close);
    await configure('dns_records', { resolver: `127.0.0.1:${dns.port}`, timeout_ms: '2000' });

    const { produced } = await scanTwice('dns_records', 'internet|scan.example');
    expect(produced).toEqual(
      [
        'dnsrecord internet|scan.example|A|192.0.2.1',
        'dnsrecord internet|scan.example|AAAA|2001:db8::1',
        'dnsrecord internet|scan.example|CAA|0 issue "letsencrypt.org"',
        'dnsrecord internet|scan.example|MX|10 mail.scan.example',
        'dnsrecord internet|scan.example|NS|ns1.scan.example',
        'dnsrecord internet|scan.example|TXT|v=spf1 -all',
        'dnsrecord internet|_dmarc.scan.example|TXT|v=DMARC1; p=reject',
        'hostname internet|mail.scan.example',
        'hostname internet|ns1.scan.example',
        'ipaddress internet|192.0.2.1',
        'ipaddress internet|2001:db8::1',
      ].sort(),
    );
    const a = (await acme.get(`/objects/dnsrecord/${encodeURIComponent('internet|scan.example|A|192.0.2.1')}/`)).body;
    expect(a).toMatchObject({ record_type: 'A', value: '192.0.2.1', ttl: 300 });

    const www = await scan('dns_records', 'internet|www.scan.example');
    expect(www.produced).toEqual([
      'dnsrecord internet|www.scan.example|CNAME|scan.example',
      'hostname internet|scan.example',
    ]);
  });

  it('port_scan reports exactly the open TCP ports', async () => {
    const listeners = await startTcpListeners(2);
    closers.push(listeners.close);
    const closed = await closedPort();
    await configure('port_scan', {
      ports: [...listeners.ports, closed].join(','),
      timeout_ms: '500',
      concurrency: '2',
    });

    const { produced } = await scanTwice('port_scan', 'internet|127.0.0.1');
    expect(produced).toEqual(listeners.ports.map((p) => `ipport internet|127.0.0.1|tcp|${p}`).sort());
    const port = (await acme.get(`/objects/ipport/internet|127.0.0.1|tcp|${listeners.ports[0]}/`)).body;
    expect(port).toMatchObject({ protocol: 'tcp', port: listeners.ports[0], state: 'open' });
  });

  it('ssl_certificate reads a certificate that expires in 5 days', async () => {
    const certificate = makeCertificate('localhost', 5);
    const server = await startTlsServer(certificate);
    closers.push(server.close);
    await configure('ssl_certificate', { port: String(server.port) });

    const serial = certificate.x509.serialNumber.toUpperCase();
    const { produced } = await scanTwice('ssl_certificate', 'internet|localhost');
    const key = `internet|localhost|${server.port}|${serial}`;
    expect(produced).toEqual([`certificate ${key}`]);
    const stored = (await acme.get(`/objects/certificate/${encodeURIComponent(key)}/`)).body;
    expect(stored).toMatchObject({
      subject: 'CN=localhost,O=KAT test',
      issuer: 'CN=localhost,O=KAT test',
      not_after: new Date(certificate.x509.validTo).toISOString(),
      not_before: new Date(certificate.x509.validFrom).toISOString(),
    });
    const daysLeft = (new Date(stored.not_after).getTime() - Date.now()) / 86_400_000;
    expect(daysLeft).toBeGreaterThan(4.9);
    expect(daysLeft).toBeLessThan(5.1);

    // By open port: the port itself is the input.
    await acme
      .post('/objects/ipport/', { network: 'internet', address: '127.0.0.1', protocol: 'tcp', port: server.port })
      .expect(201);
    const byPort = await scan('ssl_certificate', `internet|127.0.0.1|tcp|${server.port}`);
    expect(byPort.produced).toEqual([`certificate internet|127.0.0.1|${server.port}|${serial}`]);
  });

  it('http_headers records the response headers over https, and falls back to http', async () => {
    const certificate = makeCertificate('localhost', 30);
    const secure = await startWebServer(
      {
        'Strict-Transport-Security': 'max-age=31536000',
        'Content-Security-Policy': "default-src 'self'",
        'X-Frame-Options': 'DENY',
        'X-Content-Type-Options': 'nosniff',
      },
      certificate,
    );
    const plain = await startWebServer({ Server: 'test' });
    closers.push(secure.close, plain.close);

    await configure('http_headers', { https_port: String(secure.port), http_port: String(plain.port) });
    const https = await scanTwice('http_headers', 'internet|localhost');
    const base = `httpheader internet|localhost|https|${secure.port}`;
    expect(https.produced).toEqual([
      `${base}|connection`,
      `${base}|content-length`,
      `${base}|content-security-policy`,
      `${base}|strict-transport-security`,
      `${base}|x-content-type-options`,
      `${base}|x-frame-options`,
    ]);
    expect(
      (
        await acme.get(
          '/objects/httpheader/' +
            `${encodeURIComponent(`internet|localhost|https|${secure.port}|strict-transport-security`)}/`,
        )
      ).body.value,
    ).toBe('max-age=31536000');

    await configure('http_headers', { https_port: String(await closedPort()), http_port: String(plain.port) });
    const http = await scan('http_headers', 'internet|localhost');
    const plainBase = `httpheader internet|localhost|http|${plain.port}`;
    expect(http.produced).toEqual([`${plainBase}|connection`, `${plainBase}|content-length`, `${plainBase}|server`]);
  });

  it('fails a scan whose target does not answer, saying why', async () => {
    await configure('http_headers', {
      https_port: String(await closedPort()),
      http_port: String(await closedPort()),
      timeout_ms: '1000',
    });
    const { task, produced } = await scan('http_headers', 'internet|localhost');
    expect(task.status).toBe('FAILED');
    expect(task.data.error).toMatch(
      /^plugin http_headers exited with code 1: no HTTP answer: https:\/\/localhost:\d+\/: connect ECONNREFUSED/,
    );
    expect(produced).toEqual([]);
  });
});
