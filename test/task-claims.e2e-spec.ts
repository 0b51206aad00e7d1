import { FindingsSummary, ReportRepository, TaskRepository, TaskStatus } from '@kat/domain';
import { PreparedStatement } from '@kat/domain/database/prepared-statement';
import { DataSource, QueryFailedError } from 'typeorm';
import { TestEnvironment } from './support/environment';

/**
 * A worker's claims and endings are batched (one statement for all those made at once): the
 * batching must keep every guarantee of a single claim and a single ending, across workers.
 */
describe('batched claims and endings in PostgreSQL', () => {
  let environment: TestEnvironment;
  let workerA: DataSource;
  let workerB: DataSource;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.token('acme');
    const { dataSourceOptions } = await import('@kat/domain');
    [workerA, workerB] = await Promise.all(
      [1, 2].map(() => new DataSource(dataSourceOptions(environment.databaseUrl, 4)).initialize()),
    );
    await workerA.query(
      `INSERT INTO plugin (plugin_id, name, image, command, consumes)
       VALUES ('dns', 'DNS', 'kat-plugins:latest', '["true"]', '{hostname}')`,
    );
  });
  afterAll(async () => {
    await Promise.all([workerA, workerB].map((db) => db?.destroy()));
    await environment?.destroy();
  });

  let batch = 0;
  /** n PENDING tasks on hostnames h<batch>-<i>.example.com, h1-1 first. */
  /** Plugin tasks as the admission leaves them: PENDING and admitted (on the queue). */
  const createTasks = async (n: number, plugin = 'dns', admitted = true): Promise<string[]> => {
    const rows: Array<{ id: string }> = await workerA.query(
      `INSERT INTO task (organization_id, type, data, admitted_at)
       SELECT o.id, 'plugin',
              jsonb_build_object('plugin_id', $2::text, 'input_data', 'internet|h' || $3 || '-' || i || '.example.com'),
              CASE WHEN $4 THEN now() END
       FROM organization o, generate_series(1, $1) i WHERE o.code = 'acme' ORDER BY i RETURNING id`,
      [n, plugin, ++batch, admitted],
    );
    return rows.map((r) => r.id);
  };

  /** A handed-back plugin task waits for admission again; the admission's part, done here. */
  const readmit = (id: string) => workerA.query(`UPDATE task SET admitted_at = now() WHERE id = $1`, [id]);

  it("ends a transaction whose process went silent, so the locks it held do not stall the others' work", async () => {
    // As a worker frozen in the middle of a rule's transaction would: the next attempt waits for the lock.
    const silent = workerA.createQueryRunner();
    await silent.startTransaction();
    await silent.query(`SELECT pg_advisory_xact_lock(7, 7)`);
    const started = Date.now();
    await workerB.transaction((tx) => tx.query(`SELECT pg_advisory_xact_lock(7, 7)`));
    expect(Date.now() - started).toBeLessThan(15_000); // the server ended the silent one after 10 s
    expect(silent.isReleased).toBe(true); // its connection was closed under it
  }, 20_000);

  it('claims only admitted tasks: a job of a task still waiting for its turn is skipped', async () => {
    const [waiting] = await createTasks(1, 'dns', false);
    const [admitted] = await createTasks(1);
    const repository = new TaskRepository(workerA);
    expect(await repository.claim(waiting)).toBeNull();
    expect(await repository.claim(admitted)).toMatchObject({ id: admitted, status: TaskStatus.RUNNING });
    const [row] = await workerA.query(`SELECT status, attempts FROM task WHERE id = $1`, [waiting]);
    expect(row).toEqual({ status: 'PENDING', attempts: 0 });
  });

  it('gives each task to exactly one of two workers claiming every task at once', async () => {
    const ids = await createTasks(300);
    const [a, b] = [new TaskRepository(workerA), new TaskRepository(workerB)];
    const [claimsA, claimsB] = await Promise.all([
      Promise.all(ids.map((id) => a.claim(id))),
      Promise.all([...ids].reverse().map((id) => b.claim(id))),
    ]);
    const winners = [...claimsA, ...claimsB].filter((c) => c !== null);
    expect(winners).toHaveLength(300);
    expect(new Set(winners.map((c) => c.id)).size).toBe(300);
    expect(winners.every((c) => c.status === TaskStatus.RUNNING && c.attempts === 1 && c.organization === 'acme')).toBe(
      true,
    );
    // Each caller got the row of the id it asked for.
    claimsA.forEach((claim, i) => claim && expect(claim.id).toBe(ids[i]));
    const [{ running }] = await workerA.query(
      `SELECT count(*)::int AS running FROM task WHERE status = 'RUNNING' AND id = ANY($1)`,
      [ids],
    );
    expect(running).toBe(300);
  });

  it('gives a task asked for twice in one batch (a stalled job and its copy) to one caller only', async () => {
    const [id] = await createTasks(1);
    const repository = new TaskRepository(workerA);
    const claims = await Promise.all([repository.claim(id), repository.claim(id)]);
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
    expect(claims[0]).toMatchObject({ id, attempts: 1 });
  });

  it('brings the plugin and the stored input object with the claim; null when the plugin is unknown', async () => {
    const [known] = await createTasks(1);
    const [unknown] = await createTasks(1, 'gone');
    const [{ input_object: key }] = await workerA.query(`SELECT input_object FROM task WHERE id = $1`, [known]);
    const name = key.split('|')[1];
    await workerA.query(
      `INSERT INTO object (organization_id, object_type, primary_key, data)
       SELECT id, 'hostname', $1, jsonb_build_object('network', 'internet', 'name', $2::text)
       FROM organization WHERE code = 'acme'`,
      [key, name],
    );
    const repository = new TaskRepository(workerA);
    const [claim, orphan] = await Promise.all([repository.claim(known), repository.claim(unknown)]);
    expect(claim?.plugin).toMatchObject({
      plugin_id: 'dns',
      image: 'kat-plugins:latest',
      command: ['true'],
      consumes: ['hostname'],
      enabled: true,
    });
    expect(claim?.input_objects).toEqual([
      expect.objectContaining({ object_type: 'hostname', primary_key: key, name, first_seen: expect.any(Date) }),
    ]);
    expect(orphan).toMatchObject({ plugin: null, input_objects: [] });
  });

  it("brings only the claiming organization's own input object, of a type the plugin consumes", async () => {
    const [id] = await createTasks(1);
    const [{ input_object: key }] = await workerA.query(`SELECT input_object FROM task WHERE id = $1`, [id]);
    await workerA.query(`INSERT INTO organization (code, name) VALUES ('globex', 'globex') ON CONFLICT DO NOTHING`);
    // The same key in another organization, the same key as another type, another key of the type.
    await workerA.query(
      `INSERT INTO object (organization_id, object_type, primary_key, data)
       SELECT o.id, v.type, v.key, jsonb_build_object('owner', o.code, 'type', v.type)
       FROM organization o, (VALUES ('hostname', $1::text), ('ipaddress', $1::text),
                                    ('hostname', 'internet|other.example.com')) v(type, key)`,
      [key],
    );
    const claim = await new TaskRepository(workerA).claim(id);
    expect(claim).toMatchObject({ organization: 'acme', organization_id: expect.any(Number) });
    expect(claim?.input_objects).toEqual([
      expect.objectContaining({ object_type: 'hostname', primary_key: key, owner: 'acme', type: 'hostname' }),
    ]);
  });

  it('ends only the attempt that holds the task, writes its log, and tells whether it recorded outputs', async () => {
    const ids = await createTasks(50);
    const repository = new TaskRepository(workerA);
    const claims = await Promise.all(ids.map((id) => repository.claim(id)));
    const [withOutput, stale, ...rest] = claims.map((c) => c!);
    await workerA.query(
      `INSERT INTO object_task (organization_id, task_id, plugin_id, input_object, output_type, output_object)
       VALUES ($1, $2, 'dns', $3, 'ipaddress', 'internet|192.0.2.1')`,
      [withOutput.organization_id, withOutput.id, withOutput.input_object],
    );
    const log = { stdout: 'out', stderr: 'err', stdout_truncated: false, stderr_truncated: true };
    const endings = await Promise.all([
      repository.finish({ id: withOutput.id, attempt: 1, status: TaskStatus.COMPLETED, data: {}, log }),
      repository.finish({ id: stale.id, attempt: 2, status: TaskStatus.FAILED, data: { error: 'late' }, log }),
      ...rest.map((c) =>
        repository.finish({ id: c.id, attempt: 1, status: TaskStatus.FAILED, data: { error: 'boom' } }),
      ),
    ]);
    expect(endings[0]).toEqual({ status: 'COMPLETED', has_outputs: true });
    expect(endings[1]).toBeNull();
    expect(endings.slice(2)).toEqual(rest.map(() => ({ status: expect.any(String), has_outputs: false })));
    const rows: Array<{ id: string; status: string; error: string | null; log: string | null }> = await workerA.query(
      `SELECT t.id, t.status, t.data->>'error' AS error, l.stderr AS log
       FROM task t LEFT JOIN task_log l ON l.task_id = t.id WHERE t.id = ANY($1)`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(withOutput.id)).toMatchObject({ status: 'COMPLETED', log: 'err' });
    expect(byId.get(stale.id)).toMatchObject({ status: 'RUNNING', error: null, log: null });
    expect(
      rest.every(
        (c) => byId.get(c.id)?.status === 'FAILED' && byId.get(c.id)?.error === 'boom' && byId.get(c.id)?.log === null,
      ),
    ).toBe(true);
    // A second ending of an ended attempt changes nothing.
    expect(
      await repository.finish({ id: withOutput.id, attempt: 1, status: TaskStatus.FAILED, data: { error: 'again' } }),
    ).toBeNull();
  });

  it("ends the holding attempt when a stale attempt's ending shares its batch", async () => {
    const [id] = await createTasks(1);
    const repository = new TaskRepository(workerA);
    await repository.claim(id);
    expect(await repository.handBack(id, 1)).toBe(true); // attempt 1 was taken over...
    await readmit(id);
    expect(await repository.claim(id)).toMatchObject({ attempts: 2 }); // ...by attempt 2
    const log = (text: string) => ({ stdout: text, stderr: '', stdout_truncated: false, stderr_truncated: false });
    const [stale, current] = await Promise.all([
      repository.finish({ id, attempt: 1, status: TaskStatus.FAILED, data: { error: 'late' }, log: log('attempt 1') }),
      repository.finish({ id, attempt: 2, status: TaskStatus.COMPLETED, data: {}, log: log('attempt 2') }),
    ]);
    expect([stale, current]).toEqual([null, { status: 'COMPLETED', has_outputs: false }]);
    const [row] = await workerA.query(
      `SELECT t.status, l.stdout FROM task t JOIN task_log l ON l.task_id = t.id WHERE t.id = $1`,
      [id],
    );
    expect(row).toEqual({ status: 'COMPLETED', stdout: 'attempt 2' });
  });

  it("ignores a stalled attempt's heartbeat, hand-back and log once another attempt holds the task", async () => {
    const [id] = await createTasks(1);
    const repository = new TaskRepository(workerA);
    await repository.claim(id);
    expect(await repository.handBack(id, 1)).toBe(true); // the reconciler took attempt 1's task back...
    await readmit(id);
    expect(await repository.claim(id)).toMatchObject({ attempts: 2 }); // ...and attempt 2 holds it now
    await workerA.query(`UPDATE task SET heartbeat_at = '2000-01-01' WHERE id = $1`, [id]);
    const log = (text: string) => ({
      task_id: id,
      stdout: text,
      stderr: '',
      stdout_truncated: false,
      stderr_truncated: false,
    });

    // Attempt 1 wakes up: it must learn it lost the task, and leave no trace.
    expect(await repository.heartbeat([{ id, attempt: 1 }])).toEqual([{ id, attempt: 1 }]);
    expect(await repository.handBack(id, 1)).toBe(false);
    expect(await repository.saveLog(log('attempt 1'), 1)).toBe(false);
    const [row] = await workerA.query(
      `SELECT t.status, t.attempts, t.heartbeat_at, l.stdout FROM task t LEFT JOIN task_log l ON l.task_id = t.id
       WHERE t.id = $1`,
      [id],
    );
    expect(row).toEqual({ status: 'RUNNING', attempts: 2, heartbeat_at: new Date('2000-01-01'), stdout: null });

    // Attempt 2's own heartbeat and log go through.
    expect(await repository.heartbeat([{ id, attempt: 2 }])).toEqual([]);
    expect(await repository.saveLog(log('attempt 2'), 2)).toBe(true);
    const [after] = await workerA.query(
      `SELECT t.heartbeat_at > now() - interval '1 minute' AS fresh, l.stdout
       FROM task t JOIN task_log l ON l.task_id = t.id WHERE t.id = $1`,
      [id],
    );
    expect(after).toEqual({ fresh: true, stdout: 'attempt 2' });
  });

  it("beats for a worker's runs at once: refreshes those held, names those lost, skips one being written", async () => {
    const [held, lost, busy] = await createTasks(3);
    const repository = new TaskRepository(workerA);
    await Promise.all([held, lost, busy].map((id) => repository.claim(id)));
    await workerA.query(`UPDATE task SET heartbeat_at = '2000-01-01' WHERE id = ANY($1)`, [[held, lost, busy]]);
    await workerA.query(`UPDATE task SET status = 'CANCELLED' WHERE id = $1`, [lost]);
    // Another transaction is writing `busy` (its ending, say): the beat neither waits for it nor calls it lost.
    const writer = workerA.createQueryRunner();
    await writer.startTransaction();
    try {
      await writer.query(`SELECT 1 FROM task WHERE id = $1 FOR UPDATE`, [busy]);
      expect(await repository.heartbeat([held, lost, busy].map((id) => ({ id, attempt: 1 })))).toEqual([
        { id: lost, attempt: 1 },
      ]);
    } finally {
      await writer.rollbackTransaction();
      await writer.release();
    }
    const rows: Array<{ id: string; fresh: boolean }> = await workerA.query(
      `SELECT id, heartbeat_at > now() - interval '1 minute' AS fresh FROM task WHERE id = ANY($1)`,
      [[held, lost, busy]],
    );
    expect(Object.fromEntries(rows.map((row) => [row.id, row.fresh]))).toEqual({
      [held]: true,
      [lost]: false,
      [busy]: false,
    });
    await workerA.query(`UPDATE task SET status = 'CANCELLED' WHERE id = ANY($1)`, [[held, busy]]); // not stale later
  });

  it('hands back only the task it is asked to, not others running at the same attempt', async () => {
    const [first, second] = await createTasks(2);
    const repository = new TaskRepository(workerA);
    await Promise.all([repository.claim(first), repository.claim(second)]);
    expect(await repository.handBack(first, 1)).toBe(true);
    const rows = await workerA.query(`SELECT id, status FROM task WHERE id = ANY($1) ORDER BY id`, [[first, second]]);
    expect(rows).toEqual(
      [
        { id: first, status: 'PENDING' },
        { id: second, status: 'RUNNING' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it("stores a report task's report only while its attempt holds the task", async () => {
    const [{ id, organization_id }] = await workerA.query(
      `INSERT INTO task (organization_id, type, data, admitted_at)
       SELECT id, 'report', '{"report_type": "findings_summary", "object_set_id": null}', now() FROM organization
       WHERE code = 'acme' RETURNING id, organization_id`,
    );
    const tasks = new TaskRepository(workerA);
    await tasks.claim(id);
    expect(await tasks.handBack(id, 1)).toBe(true); // attempt 1 stalled and was taken over...
    await tasks.claim(id); // ...by attempt 2
    const reports = new ReportRepository(workerA);
    const report = {
      organization_id,
      report_type: 'findings_summary' as const,
      object_set_id: null,
      task_id: id,
      data: { total_findings: 0 } as unknown as FindingsSummary,
    };
    expect(await reports.save(report, 1)).toBeNull();
    const stored = await reports.save(report, 2);
    expect(stored).toEqual(expect.any(String));
    const rows = await workerA.query(`SELECT id FROM report WHERE task_id = $1`, [id]);
    expect(rows).toEqual([{ id: stored }]);
  });

  it('tells the holder of a cancelled task that its heartbeat lost the task', async () => {
    const [id] = await createTasks(1);
    const repository = new TaskRepository(workerA);
    await repository.claim(id);
    await workerA.query(`UPDATE task SET status = 'CANCELLED' WHERE id = $1`, [id]);
    expect(await repository.heartbeat([{ id, attempt: 1 }])).toEqual([{ id, attempt: 1 }]);
    expect(await repository.handBack(id, 1)).toBe(false);
  });

  it('creates bulk tasks from two requests sharing inputs in opposite orders without a deadlock', async () => {
    const [{ id: organizationId }] = await workerA.query(`SELECT id FROM organization WHERE code = 'acme'`);
    const wanted = Array.from({ length: 500 }, (_, i) => ({
      plugin_id: 'dns',
      input_data: `internet|bulk${i}.example.com`,
      input_fields: { network: 'internet', name: `bulk${i}.example.com` },
    }));
    const [a, b] = await Promise.all([
      new TaskRepository(workerA).createPluginTasks(organizationId, wanted, 5),
      new TaskRepository(workerB).createPluginTasks(organizationId, [...wanted].reverse(), 5),
    ]);
    expect(a.created.length + b.created.length).toBe(500);
    expect(a.tasks.map((t) => t.data.input_data)).toEqual(wanted.map((w) => w.input_data));
    expect(b.tasks.map((t) => t.id)).toEqual([...a.tasks].reverse().map((t) => t.id));
  });

  it("counts a plugin's own failures apart from dead workers: attempts used up are claims less failures", async () => {
    const [retried, dying] = await createTasks(2);
    // Both at their third claim, heartbeat gone; the first had failed twice by itself (its retry policy's business).
    await workerA.query(
      `UPDATE task SET status = 'RUNNING', attempts = 3, heartbeat_at = now() - interval '1 hour',
         data = data || CASE WHEN id = $1 THEN '{"errors": [{"attempt": 1}, {"attempt": 2}]}'::jsonb ELSE '{}' END
       WHERE id = ANY($2)`,
      [retried, [retried, dying]],
    );
    const recovered = await new TaskRepository(workerA).recoverStale(60, 3);
    expect(Object.fromEntries(recovered.map((t) => [t.id, t.status]))).toEqual({
      [retried]: 'PENDING', // one dead worker so far: back in line
      [dying]: 'FAILED', // three dead workers
    });
  });

  it('keeps claiming and ending on connections with prepared statements when a migration adds a column', async () => {
    // One connection, so the statements it prepared (and their cached plans) are the ones used after the change.
    const single = await new DataSource(
      (await import('@kat/domain')).dataSourceOptions(environment.databaseUrl, 1),
    ).initialize();
    const repository = new TaskRepository(single);
    const claimAndEnd = async (id: string) => {
      const claim = await repository.claim(id);
      expect(claim?.status).toBe(TaskStatus.RUNNING);
      const ended = await repository.finish({
        id,
        attempt: claim!.attempts,
        status: TaskStatus.COMPLETED,
        data: claim!.data,
      });
      expect(ended?.status).toBe(TaskStatus.COMPLETED);
    };
    try {
      for (const id of await createTasks(7)) await claimAndEnd(id); // past PostgreSQL's five custom plans
      await single.query(`ALTER TABLE task ADD COLUMN added_by_a_migration text`);
      for (const id of await createTasks(2)) await claimAndEnd(id);
    } finally {
      await single.query(`ALTER TABLE task DROP COLUMN IF EXISTS added_by_a_migration`);
      await single.destroy();
    }
  });

  it('fails a prepared statement as TypeORM fails a query, so the API maps its errors alike', async () => {
    const statement = new PreparedStatement('kat_test_bad_input', 'SELECT $1::int AS n');
    const failure = await statement.rows(workerA, ['not a number']).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect((failure as QueryFailedError & { code?: string }).code).toBe('22P02'); // invalid_text_representation
  });
});
