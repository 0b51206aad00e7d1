import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { seed } from '@kat/domain';
import { ApiClient, client, startApi, startWorker } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { registerShellPlugin } from './support/plugins';
import { signIn } from './support/web-session';
import request from 'supertest';

const CAP = 64 * 1024;

/** Binary-safe: supertest hands a body of any media type over as one Buffer. */
const asBuffer = (response: import('supertest').Test) =>
  response.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });

/**
 * Plugins that print their own formats, in real containers: a raw-output plugin's stdout is kept
 * byte for byte as its task's file (cut and flagged at RAW_OUTPUT_CAP_BYTES), normalizers of it are
 * chained at once and read it with their task token, and the built-in nmap pair turns a real scan
 * of a loopback web server into exactly its ipport, with the ObjectTask chain both ways.
 */
describe('raw output and normalizers', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let worker: INestApplicationContext;
  let acme: ApiClient;
  let globex: ApiClient;
  let admin: ApiClient;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.withDataSource((db) => seed(db));
    api = await startApi(environment.settings());
    const port = api.getHttpServer().address().port;
    // Host networking: nmap scans 127.0.0.1, and normalizers read their file from the API there.
    worker = await startWorker(
      environment.settings({
        PLUGIN_NETWORK: 'host',
        PLUGIN_API_URL: `http://127.0.0.1:${port}/api/v1`,
        RAW_OUTPUT_CAP_BYTES: String(CAP),
      }),
    );
    acme = client(api, await environment.token('acme'));
    globex = client(api, await environment.token('globex'));
    admin = client(api, await environment.token('acme', { admin: true }));
  });

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await environment?.destroy();
  });

  async function ended(id: string) {
    return waitFor(
      `task ${id} to end`,
      async () => {
        const { body } = await acme.get(`/tasks/${id}/`);
        return ['COMPLETED', 'FAILED'].includes(body.status) && body;
      },
      90_000,
    );
  }

  async function run(pluginId: string, input: string) {
    const { body } = await acme
      .post('/tasks/', { type: 'plugin', data: { plugin_id: pluginId, input_data: input } })
      .expect(201);
    return ended(body.id);
  }

  /** The tasks chained from `parentId` (their input is its id), once there are `count`. */
  async function children(parentId: string, count: number) {
    return waitFor(`${count} task(s) chained from ${parentId}`, async () => {
      const { body } = await acme.get(`/tasks/?input_data=${parentId}`);
      return body.results.length === count && body.results;
    });
  }

  it('keeps a raw plugin stdout byte for byte, with its media type, and not in the log', async () => {
    await registerShellPlugin(admin, 'raw_bytes', "printf 'first line\\n\\000\\001\\377 bytes of {name}\\n'", {
      output: 'raw',
      media_type: 'application/octet-stream',
    });
    const task = await run('raw_bytes', 'internet|raw.example');
    expect(task.status).toBe('COMPLETED');
    const expected = Buffer.concat([
      Buffer.from('first line\n'),
      Buffer.from([0, 1, 255]),
      Buffer.from(' bytes of raw.example\n'),
    ]);
    expect(task.data.output).toEqual({
      media_type: 'application/octet-stream',
      bytes: expected.length,
      truncated: false,
    });

    const file = await asBuffer(acme.get(`/tasks/${task.id}/output/`)).expect(200);
    expect(Buffer.compare(file.body, expected)).toBe(0);
    expect(file.headers['content-type']).toBe('application/octet-stream');
    expect(file.headers['x-kat-output-bytes']).toBe(String(expected.length));
    expect(file.headers['x-kat-output-truncated']).toBe('false');
    expect(file.headers['content-disposition']).toContain('attachment');
    expect((await acme.get(`/tasks/${task.id}/logs/`)).body.stdout).toBe('');

    // The task's page links the file, and the signed-in session downloads it there.
    const session = await signIn(api.getHttpServer(), await environment.token('acme'));
    const page = await request(api.getHttpServer()).get(`/tasks/${task.id}/`).set('Cookie', session.cookie).expect(200);
    const link = new RegExp(`<a href="(/api/v1/tasks/${task.id}/output/)" download>Download the output file</a>`);
    expect(page.text).toMatch(link);
    expect(page.text).toContain(`(application/octet-stream, ${expected.length} bytes)`);
    const viaPage = await asBuffer(
      request(api.getHttpServer()).get(link.exec(page.text)![1]).set('Cookie', session.cookie),
    ).expect(200);
    expect(Buffer.compare(viaPage.body, expected)).toBe(0);

    // A file is served only from a COMPLETED task: an attempt that saved one, then lost its task
    // (here: cancelled), left it on a task that did not complete with it.
    const [{ id: cancelled }] = await environment.withDataSource((db) =>
      db.query(
        `WITH t AS (INSERT INTO task (organization_id, type, status, data)
                    SELECT organization_id, 'plugin', 'CANCELLED', data FROM task WHERE id = $1 RETURNING id)
         INSERT INTO task_output (task_id, media_type, content, bytes, truncated)
         SELECT id, 'text/plain', 'left over', 9, false FROM t RETURNING task_id AS id`,
        [task.id],
      ),
    );
    await acme.get(`/tasks/${cancelled}/output/`).expect(404);

    // Another organization's token: no such file. A task without a file: 404 too.
    await globex.get(`/tasks/${task.id}/output/`).expect(404);
    await registerShellPlugin(admin, 'plain', 'true');
    const plain = await run('plain', 'internet|raw.example');
    expect((await acme.get(`/tasks/${plain.id}/output/`).expect(404)).body.message).toEqual([
      `task ${plain.id} has no output file`,
    ]);
  });

  it('cuts an output above the cap, flags it, and counts what was printed', async () => {
    await registerShellPlugin(admin, 'raw_flood', "head -c 100000 /dev/zero | tr '\\000' a", {
      output: 'raw',
      media_type: 'text/plain',
    });
    const task = await run('raw_flood', 'internet|flood.example');
    expect(task.status).toBe('COMPLETED');
    expect(task.data.output).toEqual({ media_type: 'text/plain', bytes: 100000, truncated: true });
    const file = await asBuffer(acme.get(`/tasks/${task.id}/output/`)).expect(200);
    expect(file.body.equals(Buffer.alloc(CAP, 'a'))).toBe(true);
    expect(file.headers['x-kat-output-truncated']).toBe('true');
    expect(file.headers['x-kat-output-bytes']).toBe('100000');
  });

  it("gives a normalizer's token its own input file and no other", async () => {
    const other = (await acme.get('/tasks/?plugin_id=raw_flood')).body.results[0].id;
    const get = (url: string) => `wget -q -O - --header "Authorization: Bearer $KAT_API_TOKEN" "${url}"`;
    // A plugin that is no normalizer, given a task's id as its input (a valid network name): refused too.
    await registerShellPlugin(admin, 'net_peeker', get(`$KAT_API_URL/tasks/${other}/output/`), {
      consumes: ['network'],
    });
    const net = await run('net_peeker', other);
    expect(net.data.error).toBe(
      'plugin net_peeker exited with code 1: wget: server returned error: HTTP/1.1 403 Forbidden',
    );
    await registerShellPlugin(
      admin,
      'peeker',
      `${get('$KAT_RAW_URL')} >&2 && ${get(`$KAT_API_URL/tasks/${other}/output/`)} >/dev/null`,
      { consumes: ['file:raw_bytes'] },
    );
    const raw = await run('raw_bytes', 'internet|peek.example');
    const [peek] = await children(raw.id, 1);
    const done = await ended(peek.id);
    expect(done.status).toBe('FAILED');
    expect(done.data.traceback).toContain('bytes of peek.example'); // its own file: read
    expect(done.data.error).toBe(
      'plugin peeker exited with code 1: wget: server returned error: HTTP/1.1 403 Forbidden',
    );
  });

  it('runs nmap on a loopback web server, and its normalizer finds exactly that port, chained both ways', async () => {
    // A web server nmap's service probes recognise (they match on the Server header, among others).
    const web = createServer((_, response) => {
      response.setHeader('Server', 'nginx/1.22.1');
      response.end('<html><head><title>kat</title></head></html>\n');
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const server = { port: (web.address() as AddressInfo).port, close: () => new Promise((done) => web.close(done)) };
    try {
      // The built-in nmap plugin, aimed at the one port the test serves (its default: the top 100).
      const { body: nmap } = await admin.get('/plugins/nmap/').expect(200);
      const command = nmap.command.flatMap((arg: string, i: number, all: string[]) =>
        arg === '--top-ports' ? ['-p'] : all[i - 1] === '--top-ports' ? [String(server.port)] : [arg],
      );
      await admin.patch('/plugins/nmap/', { command }).expect(200);
      const scanned = 'internet|127.0.0.1';
      const raw = await run('nmap', scanned);
      expect(raw).toMatchObject({ status: 'COMPLETED', data: { output: { media_type: 'application/xml' } } });
      const xml = (await acme.get(`/tasks/${raw.id}/output/`).expect(200)).text;
      expect(xml).toContain('<nmaprun');
      expect(xml).toMatch(new RegExp(`<port protocol="tcp" portid="${server.port}"><state state="open"`));

      // Its normalizer was chained at once, with the raw task as parent and input.
      const [normalizerTask] = await children(raw.id, 1);
      expect(normalizerTask).toMatchObject({ parent_task_id: raw.id, data: { plugin_id: 'nmap_services' } });
      const normalized = await ended(normalizerTask.id);
      expect(normalized.status).toBe('COMPLETED');
      const portKey = `internet|127.0.0.1|tcp|${server.port}`;
      const produced = (await acme.get(`/tasks/${normalized.id}/objects/`)).body.results;
      expect(produced).toEqual([
        expect.objectContaining({
          task_id: normalized.id,
          plugin_id: 'nmap_services',
          input_object: raw.id,
          output_type: 'ipport',
          output_object: portKey,
        }),
      ]);
      const { body: port } = await acme.get(`/objects/ipport/${encodeURIComponent(portKey)}/`).expect(200);
      expect(port).toMatchObject({ state: 'open', service: 'http' });

      // Backwards: the object → the normalizer task → the raw task → the address it scanned.
      const [record] = (await acme.get(`/object-tasks/?output_object=${encodeURIComponent(portKey)}`)).body.results;
      expect(record.task_id).toBe(normalized.id);
      const parent = (await acme.get(`/tasks/${normalized.parent_task_id}/`)).body;
      expect(parent).toMatchObject({ id: raw.id, data: { plugin_id: 'nmap', input_data: scanned } });
      // Forwards: the address → its nmap task → the tasks of its file → the objects they produced.
      const scans = (await acme.get(`/tasks/?plugin_id=nmap&input_data=${encodeURIComponent(scanned)}`)).body.results;
      expect(scans.map((t: { id: string }) => t.id)).toEqual([raw.id]);
      expect((await children(raw.id, 1)).map((t: { id: string }) => t.id)).toEqual([normalized.id]);

      // A normalizer task may be asked for by hand, of a file that exists; of any other task, 400.
      await acme
        .post('/tasks/', { type: 'plugin', data: { plugin_id: 'nmap_services', input_data: raw.id } })
        .expect(201);
      const wrong = await acme
        .post('/tasks/', { type: 'plugin', data: { plugin_id: 'nmap_services', input_data: normalized.id } })
        .expect(400);
      expect(wrong.body.message).toEqual([
        `data.input_data: task ${normalized.id} has no output file of plugin nmap in this organization`,
      ]);
    } finally {
      await server.close();
    }
  });

  it('fails a normalizer whose input is garbage with a clear error, and the raw task stays COMPLETED', async () => {
    await registerShellPlugin(admin, 'fake_nmap', 'echo "hello, this is not XML"', {
      output: 'raw',
      media_type: 'text/plain',
    });
    await admin
      .post('/plugins/', {
        plugin_id: 'fake_nmap_services',
        name: 'nmap normalizer of a fake',
        image: 'kat-plugins:latest',
        command: ['node', '/app/nmap_normalizer.js'],
        consumes: ['file:fake_nmap'],
        produces: ['ipport'],
      })
      .expect(201);
    const raw = await run('fake_nmap', 'internet|garbage.example');
    expect(raw.status).toBe('COMPLETED');
    const [normalizerTask] = await children(raw.id, 1);
    const normalized = await ended(normalizerTask.id);
    expect(normalized.status).toBe('FAILED');
    expect(normalized.data.error).toBe(
      'plugin fake_nmap_services exited with code 1: ' +
        'the raw output is not nmap XML: it starts with "hello, this is not XML\\n"',
    );
    expect((await acme.get(`/tasks/${raw.id}/`)).body.status).toBe('COMPLETED');
    expect((await acme.get(`/tasks/${normalized.id}/objects/`)).body.results).toEqual([]);
  });

  it('refuses plugin definitions that do not fit together, naming the field', async () => {
    const base = { name: 'x', image: 'kat-busybox:latest', command: ['true'] };
    const refused = async (body: object) =>
      (await admin.post('/plugins/', { plugin_id: 'misfit', ...base, ...body }).expect(400)).body.message;
    expect(await refused({ consumes: ['hostname'], output: 'raw' })).toEqual([
      'media_type: required when output is raw',
    ]);
    expect(await refused({ consumes: ['hostname'], media_type: 'text/plain' })).toEqual([
      'media_type: only a plugin whose output is raw has one',
    ]);
    expect(await refused({ consumes: ['file:nmap', 'hostname'] })).toEqual([
      'consumes: a normalizer consumes one file:<plugin_id> and nothing else',
    ]);
    expect(await refused({ consumes: ['file:nmap'], output: 'raw', media_type: 'text/plain' })).toEqual([
      'output: a normalizer prints objects, not raw output',
    ]);
    expect(await refused({ consumes: ['file:'] })).toEqual([
      expect.stringContaining('consumes must contain only: network, hostname'),
    ]);
    expect(await refused({ consumes: ['hostname'], output: 'raw', media_type: 'not a type' })).toEqual([
      'media_type must be a media type such as application/xml',
    ]);
    await admin.get('/plugins/misfit/').expect(404);
  });

  it("masks the organization's setting values in the file, as in the log", async () => {
    await registerShellPlugin(admin, 'raw_echo', 'echo "GET /?key=$KAT_SETTING_API_KEY"', {
      output: 'raw',
      media_type: 'text/plain',
    });
    await acme.patch('/plugins/raw_echo/settings/', { settings: { API_KEY: 'acme-secret-key-1234' } }).expect(200);
    const task = await run('raw_echo', 'internet|secret.example');
    expect((await acme.get(`/tasks/${task.id}/output/`).expect(200)).text).toBe('GET /?key=********\n');
  });
});
