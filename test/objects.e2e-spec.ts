import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { registerShellPlugin } from './support/plugins';

/** The object store and ObjectTask records, through the API and through plugin containers. */
describe('objects', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let worker: INestApplicationContext;
  let acme: ApiClient;
  let globex: ApiClient;
  let admin: ApiClient;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    const port = api.getHttpServer().address().port;
    // Host networking: plugin containers call the API on 127.0.0.1.
    worker = await startWorker(
      environment.settings({ PLUGIN_NETWORK: 'host', PLUGIN_API_URL: `http://127.0.0.1:${port}/api/v1` }),
    );
    acme = client(api, await environment.token('acme'));
    globex = client(api, await environment.token('globex'));
    admin = client(api, await environment.token('acme', { admin: true }));
    await registerShellPlugin(admin, 'slow', 'sleep 30');
  });

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  const runningTask = async (name: string) => {
    const { body } = await acme
      .post('/tasks/', { type: 'plugin', data: { plugin_id: 'slow', input_data: `internet|${name}` } })
      .expect(201);
    await waitFor('the task to run', async () => (await acme.get(`/tasks/${body.id}/`)).body.status === 'RUNNING');
    return body.id as string;
  };
  const ended = (id: string) =>
    waitFor(`task ${id} to end`, async () => {
      const { body } = await acme.get(`/tasks/${id}/`);
      return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(body.status) && body;
    });

  describe('through the API', () => {
    it('records the seed example: a hostname posted with the task_id of a running task', async () => {
      const taskId = await runningTask('example.com');
      const created = await acme
        .post(`/objects/hostname/?task_id=${taskId}`, { network: 'internet', name: 'subdomain.example.com' })
        .expect(201);
      expect(created.body).toMatchObject({
        object_type: 'hostname',
        primary_key: 'internet|subdomain.example.com',
        network: 'internet',
        name: 'subdomain.example.com',
      });

      const produced = (await acme.get(`/tasks/${taskId}/objects/`)).body.results;
      expect(produced).toEqual([
        expect.objectContaining({
          task_id: taskId,
          plugin_id: 'slow',
          input_object: 'internet|example.com',
          output_type: 'hostname',
          output_object: 'internet|subdomain.example.com',
        }),
      ]);
      // Creating a hostname created its network.
      await acme.get('/objects/network/internet/').expect(200);
      // Posting it again with the same task adds no second ObjectTask.
      await acme
        .post(`/objects/hostname/?task_id=${taskId}`, { network: 'internet', name: 'subdomain.example.com' })
        .expect(200);
      expect((await acme.get(`/object-tasks/?task_id=${taskId}`)).body.results).toHaveLength(1);
      for (const filter of [
        'plugin_id=slow&input_object=internet|example.com',
        'output_object=internet|subdomain.example.com',
      ]) {
        expect(
          (await acme.get(`/object-tasks/?${filter}`)).body.results.map((r: { task_id: string }) => r.task_id),
        ).toEqual([taskId]);
      }
      expect((await acme.get('/object-tasks/?plugin_id=nope')).body.results).toEqual([]);
      expect((await globex.get(`/object-tasks/?task_id=${taskId}`)).body.results).toEqual([]);
      await acme.post(`/tasks/${taskId}/cancel/`).expect(200);
    });

    it('upserts by natural key: one row, last_seen moves, first_seen stays', async () => {
      const first = (await acme.post('/objects/ipaddress/', { network: 'internet', address: '192.0.2.7' }).expect(201))
        .body;
      // last_seen is the database's clock, shown to the millisecond: let it pass the first write.
      const later = `SELECT now() > $1::timestamptz + interval '1 millisecond' AS later`;
      await waitFor(
        'the database clock to pass the first last_seen',
        async () => (await environment.withDataSource((db) => db.query(later, [first.last_seen])))[0].later,
      );
      const second = (await acme.post('/objects/ipaddress/', { network: 'internet', address: '192.0.2.7' }).expect(200))
        .body;
      expect(second.first_seen).toBe(first.first_seen);
      expect(new Date(second.last_seen).getTime()).toBeGreaterThan(new Date(first.last_seen).getTime());
      expect((await acme.get('/objects/ipaddress/?address=192.0.2.7')).body.results).toHaveLength(1);
    });

    it('rejects a list with one bad item, naming its index and field, and writes nothing of it', async () => {
      const response = await acme.post('/objects/hostname/', [
        { network: 'internet', name: 'good.example.com' },
        { network: 'internet', name: 'bad name!' },
        { network: 'internet', name: 'also-good.example.com', colour: 'red' },
      ]);
      expect(response.status).toBe(400);
      expect(response.body.message).toEqual(['[1].name must be a DNS name', '[2].property colour should not exist']);
      await acme.get('/objects/hostname/internet|good.example.com/').expect(404);
    });

    it('takes up to 1,000 objects in one request', async () => {
      const many = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ network: 'internet', name: `h${i}.bulk.example` }));
      const rejected = await acme.post('/objects/hostname/', many(1001)).expect(400);
      expect(rejected.body.message).toEqual(['at most 1000 objects per request, not 1001']);
      const accepted = await acme.post('/objects/hostname/', many(1000)).expect(201);
      expect(accepted.body).toMatchObject({ count: 1000, created: 1000, updated: 0 });
    });

    it('validates each object type', async () => {
      const cases: Array<[string, object, string]> = [
        ['ipaddress', { network: 'internet', address: '999.1.1.1' }, 'address must be an IPv4 or IPv6 address'],
        [
          'ipport',
          { network: 'internet', address: '192.0.2.1', protocol: 'sctp', port: 80 },
          'protocol must be one of the following values: tcp, udp',
        ],
        [
          'ipport',
          { network: 'internet', address: '192.0.2.1', protocol: 'tcp', port: 70000 },
          'port must not be greater than 65535',
        ],
        [
          'dnsrecord',
          { network: 'internet', hostname: 'example.com', record_type: 'SPF', value: 'x' },
          expect.stringContaining('record_type must be one of'),
        ],
        [
          'certificate',
          {
            network: 'internet',
            hostname: 'example.com',
            port: 443,
            serial: 'zz',
            subject: 's',
            issuer: 'i',
            not_before: 'now',
            not_after: '2030-01-01T00:00:00Z',
          },
          'serial must be a hexadecimal serial number',
        ],
        [
          'finding',
          { finding_type: 'kat no spf', ooi_type: 'hostname', ooi: 'internet|example.com' },
          'finding_type must be a finding type code like KAT-NO-SPF',
        ],
        [
          'hostname',
          { object_type: 'ipaddress', network: 'internet', name: 'example.com' },
          'object_type must be hostname (or left out) on this path',
        ],
      ];
      for (const [type, object, message] of cases) {
        const response = await acme.post(`/objects/${type}/`, object);
        expect(response.status).toBe(400);
        expect(response.body.message).toContainEqual(message);
      }
      await acme.post('/objects/planet/', { name: 'x' }).expect(404);
    });

    it('lists, filters, paginates, reads and deletes objects of one organization', async () => {
      await acme
        .post('/objects/dnsrecord/', [
          {
            network: 'internet',
            hostname: 'example.com',
            record_type: 'TXT',
            value: 'v=spf1 -all|with a pipe',
            ttl: 300,
          },
          { network: 'internet', hostname: 'example.com', record_type: 'A', value: '192.0.2.1' },
        ])
        .expect(201);
      const records = (await acme.get('/objects/dnsrecord/?hostname=example.com')).body.results;
      expect(records.map((r: { primary_key: string }) => r.primary_key)).toEqual([
        'internet|example.com|A|192.0.2.1',
        'internet|example.com|TXT|v=spf1 -all|with a pipe',
      ]);
      const keys: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { results: Array<{ primary_key: string }>; next_cursor: string | null } } = await acme.get(
          `/objects/hostname/?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
        );
        keys.push(...page.body.results.map((h) => h.primary_key));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(keys.length).toBeGreaterThan(1000);
      expect([...keys].sort()).toEqual(keys);
      expect(new Set(keys).size).toBe(keys.length);
      expect((await acme.get('/objects/hostname/?colour=red')).body.message).toEqual([
        'colour: not a filter of hostname; its filters are network, name',
      ]);

      const key = encodeURIComponent('internet|example.com|TXT|v=spf1 -all|with a pipe');
      expect((await acme.get(`/objects/dnsrecord/${key}/`)).body).toMatchObject({
        ttl: 300,
        value: 'v=spf1 -all|with a pipe',
      });
      await globex.get(`/objects/dnsrecord/${key}/`).expect(404);
      expect((await globex.get('/objects/dnsrecord/')).body.results).toEqual([]);
      await globex.delete(`/objects/dnsrecord/${key}/`).expect(404);
      await acme.get(`/objects/dnsrecord/${key}/`).expect(200);
    });

    it('deletes an object', async () => {
      await acme.post('/objects/hostname/', { network: 'internet', name: 'gone.example.com' }).expect(201);
      await acme.delete('/objects/hostname/internet|gone.example.com/').expect(204);
      await acme.delete('/objects/hostname/internet|gone.example.com/').expect(404);
    });

    it('refuses a task_id of another organization (404) or of a task not RUNNING (409)', async () => {
      const taskId = await runningTask('refuse.example.com');
      await globex
        .post(`/objects/hostname/?task_id=${taskId}`, { network: 'internet', name: 'x.example.com' })
        .expect(404);
      // Nothing stored for either organization, nor recorded against acme's task.
      await globex.get('/objects/hostname/internet|x.example.com/').expect(404);
      expect((await acme.get(`/tasks/${taskId}/objects/`)).body.results).toEqual([]);
      await acme.post(`/tasks/${taskId}/cancel/`).expect(200);
      const refused = await acme
        .post(`/objects/hostname/?task_id=${taskId}`, { network: 'internet', name: 'x.example.com' })
        .expect(409);
      expect(refused.body.message).toEqual([
        `task_id: task ${taskId} is CANCELLED; objects can be added only to a RUNNING task`,
      ]);
      await acme.get('/objects/hostname/internet|x.example.com/').expect(404);
    });

    it('describes the object types with their key fields and JSON schemas', async () => {
      const types = (await acme.get('/object-types/')).body.results;
      expect(types.map((t: { object_type: string }) => t.object_type)).toEqual([
        'network',
        'hostname',
        'ipaddress',
        'ipport',
        'dnsrecord',
        'certificate',
        'httpheader',
        'finding',
      ]);
      const hostname = types.find((t: { object_type: string }) => t.object_type === 'hostname');
      expect(hostname.key_fields).toEqual(['network', 'name']);
      expect(hostname.schema.properties).toHaveProperty('name');
      expect(hostname.schema.required).toEqual(expect.arrayContaining(['network', 'name']));
    });
  });

  describe('from plugin containers', () => {
    const WGET =
      'wget -q -O - --header "Authorization: Bearer $KAT_API_TOKEN" --header "Content-Type: application/json"';

    it('records objects a plugin posts with its token, and lets it read its input', async () => {
      await acme.post('/objects/hostname/', { network: 'internet', name: 'input.example.com' }).expect(201);
      await registerShellPlugin(
        admin,
        'poster',
        [
          `${WGET} "$KAT_API_URL/objects/hostname/internet%7Cinput.example.com/" >&2`,
          `${WGET} --post-data '[{"network": "internet", "address": "192.0.2.10"}, ` +
            `{"network": "internet", "address": "192.0.2.11"}]' ` +
            `"$KAT_API_URL/objects/ipaddress/?task_id=$KAT_TASK_ID" > /dev/null`,
        ].join(' && '),
      );
      const { body } = await acme
        .post('/tasks/', { type: 'plugin', data: { plugin_id: 'poster', input_data: 'internet|input.example.com' } })
        .expect(201);
      const task = await ended(body.id);
      expect(task.status).toBe('COMPLETED');
      expect((await acme.get(`/tasks/${body.id}/logs/`)).body.stderr).toContain(
        '"primary_key":"internet|input.example.com"',
      );
      const produced = (await acme.get(`/object-tasks/?task_id=${body.id}`)).body.results.map(
        (r: { output_object: string }) => r.output_object,
      );
      expect(produced.sort()).toEqual(['internet|192.0.2.10', 'internet|192.0.2.11']);
    });

    it('ingests stdout JSON lines, and fails at the first bad line keeping the objects before it', async () => {
      await registerShellPlugin(
        admin,
        'printer',
        [
          `echo '{"object_type": "hostname", "network": "internet", "name": "one.printed.example"}'`,
          `echo '{"object_type": "ipaddress", "network": "internet", "address": "192.0.2.20"}'`,
          'echo',
          `echo 'this is not json'`,
          `echo '{"object_type": "hostname", "network": "internet", "name": "never.printed.example"}'`,
        ].join('; '),
      );
      const { body } = await acme
        .post('/tasks/', { type: 'plugin', data: { plugin_id: 'printer', input_data: 'internet|printed.example' } })
        .expect(201);
      const task = await ended(body.id);
      expect(task.status).toBe('FAILED');
      expect(task.data.error).toBe(
        'plugin printer printed a bad object: stdout line 4 is not JSON: "this is not json"',
      );
      const produced = (await acme.get(`/tasks/${body.id}/objects/`)).body.results.map(
        (r: { output_object: string }) => r.output_object,
      );
      expect(produced.sort()).toEqual(['internet|192.0.2.20', 'internet|one.printed.example']);
      await acme.get('/objects/hostname/internet|never.printed.example/').expect(404);
    });

    it('fails a plugin that prints an invalid object, naming the line and field', async () => {
      await registerShellPlugin(
        admin,
        'misprinter',
        `echo '{"object_type": "ipport", "network": "internet", "address": "192.0.2.1", "protocol": "tcp", "port": 0}'`,
      );
      const { body } = await acme
        .post('/tasks/', { type: 'plugin', data: { plugin_id: 'misprinter', input_data: 'internet|x.example' } })
        .expect(201);
      const task = await ended(body.id);
      expect(task.data.error).toBe(
        'plugin misprinter printed a bad object: stdout line 1 is not a valid object: port must not be less than 1',
      );
    });

    it("fails a plugin whose posted object is refused, with the API's answer", async () => {
      await registerShellPlugin(
        admin,
        'badposter',
        `${WGET} --post-data '{"network": "internet", "address": "not-an-ip"}' ` +
          `"$KAT_API_URL/objects/ipaddress/?task_id=$KAT_TASK_ID"`,
      );
      const { body } = await acme
        .post('/tasks/', { type: 'plugin', data: { plugin_id: 'badposter', input_data: 'internet|x.example' } })
        .expect(201);
      const task = await ended(body.id);
      expect(task.status).toBe('FAILED');
      expect(task.data.error).toMatch(/^plugin badposter exited with code 1: .*400 Bad Request/);
    });

    it(
      'confines a plugin token to its own task, its input and its organization, ' + 'and ends it with the task',
      async () => {
        const other = await runningTask('other.example.com');
        const attempt = (label: string, args: string) => `${WGET} ${args} 2>&1 >/dev/null | sed 's/^/${label}: /' >&2`;
        const hostname = `'{"network": "internet", "name": "intruder.example.com"}'`;
        await registerShellPlugin(
          admin,
          'intruder',
          [
            attempt('other-input', '"$KAT_API_URL/objects/hostname/internet%7Cother.example.com/"'),
            attempt('list-tasks', '"$KAT_API_URL/tasks/"'),
            attempt(
              'other-task',
              `--post-data ${hostname} "$KAT_API_URL/objects/hostname/?task_id=$KAT_SETTING_OTHER_TASK"`,
            ),
            attempt('no-task', `--post-data ${hostname} "$KAT_API_URL/objects/hostname/"`),
            attempt(
              'other-org',
              `--post-data ${hostname} "$KAT_API_URL/objects/hostname/?task_id=$KAT_TASK_ID&organization=globex"`,
            ),
            'echo "token: $KAT_API_TOKEN" >&2',
          ].join('; '),
          { settings: { other_task: other } },
        );
        const { body } = await acme
          .post('/tasks/', {
            type: 'plugin',
            data: { plugin_id: 'intruder', input_data: 'internet|input.example.com' },
          })
          .expect(201);
        expect((await ended(body.id)).status).toBe('COMPLETED');
        const stderr: string = (await acme.get(`/tasks/${body.id}/logs/`)).body.stderr;
        for (const label of ['other-input', 'list-tasks', 'other-task', 'no-task', 'other-org']) {
          expect(stderr).toContain(`${label}: wget: server returned error: HTTP/1.1 403 Forbidden`);
        }
        await acme.get('/objects/hostname/internet|intruder.example.com/').expect(404);
        await globex.get('/objects/hostname/internet|intruder.example.com/').expect(404);

        const token = /token: (katp_\S+)/.exec(stderr)![1];
        const late = await client(api, token).post(`/objects/hostname/?task_id=${body.id}`, {
          network: 'internet',
          name: 'late.example.com',
        });
        expect(late.status).toBe(403);
        expect(late.body.message).toEqual([`this plugin token's task ${body.id} has ended; its token no longer works`]);
        const forged = await client(api, token.slice(0, -3) + 'xyz').get(
          '/objects/hostname/internet|input.example.com/',
        );
        expect(forged.status).toBe(401);
        await acme.post(`/tasks/${other}/cancel/`).expect(200);
      },
    );
  });
});
