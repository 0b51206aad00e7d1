import { INestApplication, Logger } from '@nestjs/common';
import { Plugin, PluginCatalogue, PluginRepository, seed } from '@kat/domain';
import { DataSource } from 'typeorm';
import { ApiClient, client, startApi } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';

/**
 * The API's in-process copy of the plugin catalogue, against the real PostgreSQL: it is read
 * instead of the table while it listens for changes, and a change committed anywhere (another
 * process, another connection) reaches it by its notice, long before a copy's 60 s bound.
 */
describe('plugin catalogue', () => {
  let environment: TestEnvironment;
  let db: DataSource;
  let catalogue: PluginCatalogue;
  let repository: PluginRepository;
  /** Lookups that reached PostgreSQL. */
  let asked = 0;
  /** While set, lookups that reach PostgreSQL wait for it. */
  let gate: Promise<void> | null = null;

  /** A change made by another connection, as another API process or the CLI would make it. */
  const elsewhere = (sql: string) => environment.withDataSource((other) => other.query(sql));
  const enabled = async () => (await catalogue.find('dns_records'))?.enabled;
  /** The copy is in use once a second lookup does not reach PostgreSQL. */
  const listening = () =>
    waitFor('the catalogue to listen', async () => {
      await catalogue.find('dns_records');
      const before = asked;
      await catalogue.find('dns_records');
      return asked === before;
    });

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    db = await new DataSource((await import('@kat/domain')).dataSourceOptions(environment.databaseUrl, 2)).initialize();
    await seed(db);
    repository = new PluginRepository(db);
    const [findOne, list] = [repository.findByPluginId.bind(repository), repository.list.bind(repository)];
    repository.findByPluginId = async (id: string): Promise<Plugin | null> => {
      asked++;
      await gate;
      return findOne(id);
    };
    repository.list = async (): Promise<Plugin[]> => {
      asked++;
      await gate;
      return list();
    };
    catalogue = new PluginCatalogue(repository, environment.settings());
  });

  afterAll(async () => {
    await catalogue?.onModuleDestroy();
    await db?.destroy();
    await environment?.destroy();
  });

  it('answers from its copy while it listens, and a change committed elsewhere replaces the copy', async () => {
    await listening();
    expect(await enabled()).toBe(true);
    await elsewhere(`UPDATE plugin SET enabled = false WHERE plugin_id = 'dns_records'`);
    await waitFor('the notice', async () => (await enabled()) === false, 5000);
    await elsewhere(`UPDATE plugin SET enabled = true WHERE plugin_id = 'dns_records'`);
    await waitFor('the notice', async () => (await enabled()) === true, 5000);
  });

  it('does not keep what it read if the catalogue changed while the read was under way', async () => {
    await listening();
    catalogue.forget();
    let open = () => undefined as void;
    gate = new Promise<void>((resolve) => (open = resolve));
    const before = asked;
    const slow = catalogue.find('dns_records'); // reads, then waits in its lookup
    await waitFor('the lookup to start', async () => asked > before);
    catalogue.forget(); // a change lands meanwhile
    gate = null;
    open();
    await slow;
    const after = asked;
    await catalogue.find('dns_records');
    expect(asked).toBe(after + 1); // what the slow lookup read was not kept
  });

  it('asks PostgreSQL every time while its connection is lost, and listens again once it is back', async () => {
    await listening();
    await elsewhere(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE application_name = 'kat-plugin-catalogue' AND datname = current_database()`);
    // Once the loss is noticed nothing is kept (no notice would tell of a change): lookups in a row all ask.
    await waitFor(
      'the loss to be noticed',
      async () => {
        const before = asked;
        await catalogue.find('dns_records');
        await catalogue.find('dns_records');
        return asked === before + 2;
      },
      5000,
    );
    await elsewhere(`UPDATE plugin SET consumes = '{hostname,ipaddressv4}' WHERE plugin_id = 'dns_records'`);
    expect((await catalogue.find('dns_records'))?.consumes).toEqual(['hostname', 'ipaddressv4']);
    await listening();
    await elsewhere(`UPDATE plugin SET consumes = '{hostname}' WHERE plugin_id = 'dns_records'`);
    await waitFor('the notice', async () => (await catalogue.find('dns_records'))?.consumes.length === 1, 5000);
  });

  it('answers an id of no plugin from its copy of the whole catalogue, keeping nothing per id', async () => {
    await listening();
    const before = asked;
    for (let i = 0; i < 50; i++) expect(await catalogue.find(`no-such-plugin-${i}`)).toBeNull();
    expect(asked).toBe(before);
  });

  it('reads the table once for the lookups that arrive together after a drop', async () => {
    await listening();
    catalogue.forget();
    const before = asked;
    const found = await Promise.all(Array.from({ length: 10 }, () => catalogue.find('dns_records')));
    expect(found.every((plugin) => plugin?.plugin_id === 'dns_records')).toBe(true);
    expect(asked).toBe(before + 1);
  });

  it('tries to listen again once a second while it cannot, however many lookups come', async () => {
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // A server that refuses every connection: the listener fails at once, lookups still work.
    const unreachable = new PluginCatalogue(
      repository,
      environment.settings({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/kat' }),
    );
    try {
      for (let i = 0; i < 20; i++) {
        expect((await unreachable.find('dns_records'))?.plugin_id).toBe('dns_records');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(warnings.mock.calls.filter(([message]) => /plugin changes/.test(String(message)))).toHaveLength(1);
    } finally {
      await unreachable.onModuleDestroy();
      warnings.mockRestore();
    }
  });

  describe('in the API', () => {
    let api: INestApplication;
    let admin: ApiClient;
    let acme: ApiClient;

    beforeAll(async () => {
      api = await startApi(environment.settings());
      admin = client(api, await environment.token('root', { admin: true }));
      acme = client(api, await environment.token('acme'));
    });

    afterAll(async () => {
      await api?.close();
    });

    it("refuses tasks of a plugin at once after the API's own change, and after another process's", async () => {
      const task = (name: string) => ({
        type: 'plugin',
        data: { plugin_id: 'dns_records', input_data: `internet|${name}` },
      });
      await acme.post('/tasks/', task('a.example')).expect(201);
      await admin.patch('/plugins/dns_records/', { enabled: false }).expect(200);
      const refused = await acme.post('/tasks/', task('b.example')).expect(400);
      expect(refused.body.message).toEqual(['data.plugin_id: plugin dns_records is disabled']);
      await elsewhere(`UPDATE plugin SET enabled = true WHERE plugin_id = 'dns_records'`);
      await waitFor('the notice', async () => (await acme.post('/tasks/', task('c.example'))).status === 201, 5000);
    });
  });
});
