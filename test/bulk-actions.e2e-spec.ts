import { INestApplication } from '@nestjs/common';
import { ApiClient, client, startApi } from './support/apps';
import { TestEnvironment } from './support/environment';

interface Row {
  status: string;
  plugin: string;
  input: string;
  /** Hours before the test's reference hour. */
  hoursAgo?: number;
  type?: 'plugin' | 'report';
}

const HOUR = 3_600_000;
/** A whole UTC hour well in the past, so buckets are exact whatever the clock says. */
const REFERENCE = new Date(Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR);

/**
 * Bulk retry and cancel take the list's filters and change exactly the matching tasks of the
 * caller's organization, in one statement; stats count tasks per bucket and status. The tasks are
 * written straight into the table, in the states and hours each case needs (no worker runs).
 */
describe('bulk actions and task stats', () => {
  let environment: TestEnvironment;
  let api: INestApplication;
  let acme: ApiClient;
  let globex: ApiClient;
  let admin: ApiClient;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    api = await startApi(environment.settings());
    acme = client(api, await environment.token('acme'));
    globex = client(api, await environment.token('globex'));
    admin = client(api, await environment.token('acme', { admin: true }));
  });

  afterAll(async () => {
    await api?.close();
    await environment?.destroy();
  });

  beforeEach(() => environment.withDataSource((db) => db.query('DELETE FROM task')));

  /** Inserts `rows` as tasks of organization `code`; their ids, in order. */
  async function tasks(code: string, rows: Row[]): Promise<string[]> {
    const inserted: Array<{ id: string }> = await environment.withDataSource((db) =>
      db.query(
        `INSERT INTO task (organization_id, type, status, data, created_at, ended_at)
         SELECT o.id, r.type, r.status,
                CASE WHEN r.type = 'plugin' THEN jsonb_build_object('plugin_id', r.plugin, 'input_data', r.input)
                     ELSE jsonb_build_object('report_type', 'findings_summary', 'object_set_id', NULL) END,
                $3::timestamptz - make_interval(hours => r.hours_ago) + make_interval(secs => r.n),
                CASE WHEN r.status IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN now() END
         FROM organization o,
              ROWS FROM (jsonb_to_recordset($2::jsonb)
                AS (status text, plugin text, input text, hours_ago int, type text)) WITH ORDINALITY
                AS r(status, plugin, input, hours_ago, type, n)
         WHERE o.code = $1
         ORDER BY r.n
         RETURNING id`,
        [
          code,
          JSON.stringify(rows.map((r) => ({ ...r, hours_ago: r.hoursAgo ?? 0, type: r.type ?? 'plugin' }))),
          REFERENCE,
        ],
      ),
    );
    return inserted.map((r) => r.id);
  }

  async function statuses(ids: string[]): Promise<string[]> {
    const rows: Array<{ id: string; status: string }> = await environment.withDataSource((db) =>
      db.query(`SELECT id, status FROM task WHERE id = ANY($1::uuid[])`, [ids]),
    );
    const byId = new Map(rows.map((r) => [r.id, r.status]));
    return ids.map((id) => byId.get(id) ?? 'gone');
  }

  it('retries exactly the matching FAILED and CANCELLED tasks of the caller, once per plugin and input', async () => {
    const ids = await tasks('acme', [
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|a.example' },
      { status: 'CANCELLED', plugin: 'dns_records', input: 'internet|b.example' },
      // Two failures of one input: only the newer goes back (one task of a plugin and input may be active).
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|c.example', hoursAgo: 2 },
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|c.example', hoursAgo: 1 },
      // An input with an active task: its failure stays.
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|d.example' },
      { status: 'PENDING', plugin: 'dns_records', input: 'internet|d.example' },
      { status: 'COMPLETED', plugin: 'dns_records', input: 'internet|e.example' },
      { status: 'FAILED', plugin: 'port_scan', input: 'internet|192.0.2.1' },
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|old.example', hoursAgo: 30 },
    ]);
    const [globexFailed] = await tasks('globex', [
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|a.example' },
    ]);

    const since = new Date(REFERENCE.getTime() - 24 * HOUR).toISOString();
    const { body } = await acme.post('/tasks/retry/', { plugin_id: 'dns_records', created_after: since }).expect(200);
    expect(body).toEqual({ count: 3 });
    expect(await statuses(ids)).toEqual([
      'PENDING',
      'PENDING',
      'FAILED',
      'PENDING',
      'FAILED',
      'PENDING',
      'COMPLETED',
      'FAILED',
      'FAILED',
    ]);
    expect(await statuses([globexFailed])).toEqual(['FAILED']);

    // Retried tasks lose their ending and error, as a single retry does; again: nothing left to retry.
    const { body: task } = await acme.get(`/tasks/${ids[0]}/`);
    expect(task).toMatchObject({ status: 'PENDING', ended_at: null });
    expect((await acme.post('/tasks/retry/', { plugin_id: 'dns_records', created_after: since })).body).toEqual({
      count: 0,
    });

    // Recorded once in the audit log, with the filters and the count.
    const entries = (await admin.get('/audit-log/?action=task.retry_bulk')).body.results;
    expect(entries).toHaveLength(2);
    expect(entries[1]).toMatchObject({ organization: 'acme', changes: { count: 3 } });
  });

  it('cancels exactly the matching PENDING and RUNNING tasks of the caller', async () => {
    const ids = await tasks('acme', [
      { status: 'PENDING', plugin: 'dns_records', input: 'internet|a.example' },
      { status: 'RUNNING', plugin: 'dns_records', input: 'internet|b.example' },
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|c.example' },
      { status: 'PENDING', plugin: 'port_scan', input: 'internet|192.0.2.1' },
      { status: 'PENDING', plugin: '', input: '', type: 'report' },
    ]);
    const globexIds = await tasks('globex', [
      { status: 'PENDING', plugin: 'dns_records', input: 'internet|a.example' },
    ]);
    expect((await acme.post('/tasks/cancel/', { plugin_id: 'dns_records' }).expect(200)).body).toEqual({ count: 2 });
    expect(await statuses(ids)).toEqual(['CANCELLED', 'CANCELLED', 'FAILED', 'PENDING', 'PENDING']);
    expect((await acme.post('/tasks/cancel/', { type: 'report' }).expect(200)).body).toEqual({ count: 1 });
    expect(await statuses(ids)).toEqual(['CANCELLED', 'CANCELLED', 'FAILED', 'PENDING', 'CANCELLED']);
    expect(await statuses(globexIds)).toEqual(['PENDING']);
    const { body: cancelled } = await acme.get(`/tasks/${ids[1]}/`);
    expect(cancelled.data.error).toBe('cancelled by a user');
  });

  it('refuses a bad filter with 400, naming the field, and changes nothing', async () => {
    const ids = await tasks('acme', [{ status: 'FAILED', plugin: 'dns_records', input: 'internet|a.example' }]);
    const refused = async (path: string, body: object) => (await acme.post(path, body).expect(400)).body.message;
    expect(await refused('/tasks/retry/', { status: 'BROKEN' })).toEqual([
      'status must be one of: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED',
    ]);
    expect(await refused('/tasks/cancel/', { plugin: 'dns_records' })).toEqual(['property plugin should not exist']);
    expect(await refused('/tasks/retry/', { created_after: 'yesterday' })).toEqual([
      'created_after must be an ISO 8601 date-time in the years 1 to 9999',
    ]);
    expect(await statuses(ids)).toEqual(['FAILED']);
  });

  it('counts tasks per hour and status, every bucket present, of the caller only', async () => {
    await tasks('acme', [
      { status: 'COMPLETED', plugin: 'dns_records', input: 'internet|a.example', hoursAgo: 0 },
      { status: 'COMPLETED', plugin: 'dns_records', input: 'internet|b.example', hoursAgo: 0 },
      { status: 'FAILED', plugin: 'dns_records', input: 'internet|c.example', hoursAgo: 0 },
      { status: 'PENDING', plugin: 'port_scan', input: 'internet|192.0.2.1', hoursAgo: 2 },
      { status: 'COMPLETED', plugin: 'dns_records', input: 'internet|d.example', hoursAgo: 30 },
    ]);
    await tasks('globex', [{ status: 'FAILED', plugin: 'dns_records', input: 'internet|a.example', hoursAgo: 0 }]);
    const until = new Date(REFERENCE.getTime() + HOUR).toISOString();
    const zero = { PENDING: 0, RUNNING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 };
    const at = (hoursAgo: number) => new Date(REFERENCE.getTime() - hoursAgo * HOUR).toISOString();

    const { body } = await acme.get(`/tasks/stats/?until=${until}`).expect(200);
    expect(body.buckets).toHaveLength(24);
    expect(body.buckets[0]).toEqual({ start: at(23), ...zero });
    expect(body.buckets[21]).toEqual({ start: at(2), ...zero, PENDING: 1 });
    expect(body.buckets[23]).toEqual({ start: at(0), ...zero, COMPLETED: 2, FAILED: 1 });
    const total = (buckets: Array<Record<string, number>>) =>
      buckets.reduce((sum, b) => sum + b.PENDING + b.RUNNING + b.COMPLETED + b.FAILED + b.CANCELLED, 0);
    expect(total(body.buckets)).toBe(4);

    // The list's filters apply; days, and a since that is not on a bucket's edge.
    const stats = async (who: ApiClient, query: string) =>
      (await who.get(`/tasks/stats/?${query}`).expect(200)).body.buckets;
    const dns = await stats(acme, `until=${until}&plugin_id=port_scan`);
    expect(total(dns)).toBe(1);
    const days = await stats(acme, `since=${at(40)}&until=${until}&bucket=day`);
    expect(total(days)).toBe(5);
    expect(days[0].start).toBe(new Date(Math.floor(Date.parse(at(40)) / (24 * HOUR)) * 24 * HOUR).toISOString());

    // An admin sees every organization's, or one's.
    expect(total(await stats(admin, `until=${until}`))).toBe(5);
    expect(total(await stats(admin, `until=${until}&organization=globex`))).toBe(1);
    expect(total(await stats(globex, `until=${until}`))).toBe(1);

    expect((await acme.get(`/tasks/stats/?since=${until}&until=${at(3)}`).expect(400)).body.message).toEqual([
      'since must be before until',
    ]);
    expect(
      (await acme.get(`/tasks/stats/?since=2020-01-01T00:00:00Z&until=${until}`).expect(400)).body.message,
    ).toEqual(['since: at most 1000 hours before until']);
    expect((await acme.get('/tasks/stats/?bucket=week').expect(400)).body.message).toEqual([
      'bucket must be hour or day',
    ]);
  });
});
