import { TASK_STATUSES, TaskStatus, canTransition } from '@kat/domain';
import { DataSource } from 'typeorm';
import { TestEnvironment } from './support/environment';

/** The database enforces the same state machine as task-state.ts, whatever code writes the row. */
describe('task status transitions in PostgreSQL', () => {
  let environment: TestEnvironment;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.token('acme');
  });
  afterAll(() => environment?.destroy());

  // Every ordered pair, a status to itself included: setting a status it already has is no transition.
  const pairs = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));

  const newTask = async (db: DataSource, from: TaskStatus): Promise<string> => {
    const [{ id }] = await db.query(
      `INSERT INTO task (organization_id, type, status, data)
       SELECT id, 'plugin', 'PENDING', jsonb_build_object('plugin_id', 'p', 'input_data', gen_random_uuid()::text)
       FROM organization WHERE code = 'acme' RETURNING id`,
    );
    // Reach `from` through allowed steps (the trigger checks each).
    const path: Record<TaskStatus, TaskStatus[]> = {
      PENDING: [],
      RUNNING: [TaskStatus.RUNNING],
      COMPLETED: [TaskStatus.RUNNING, TaskStatus.COMPLETED],
      FAILED: [TaskStatus.RUNNING, TaskStatus.FAILED],
      CANCELLED: [TaskStatus.CANCELLED],
    };
    for (const step of path[from]) await db.query(`UPDATE task SET status = $2 WHERE id = $1`, [id, step]);
    return id;
  };

  it('covers all 25 ordered pairs of the five statuses', () => {
    expect(pairs).toHaveLength(25);
  });

  it.each(pairs)('%s → %s is allowed exactly when task-state.ts allows it', async (from, to) => {
    await environment.withDataSource(async (db: DataSource) => {
      const id = await newTask(db, from);
      const attempt = db.query(`UPDATE task SET status = $2 WHERE id = $1 RETURNING status`, [id, to]);
      if (canTransition(from, to)) await expect(attempt).resolves.toEqual([[{ status: to }], 1]);
      else await expect(attempt).rejects.toThrow(`status ${from} -> ${to} is not allowed`);
      const [{ status }] = await db.query(`SELECT status FROM task WHERE id = $1`, [id]);
      expect(status).toBe(canTransition(from, to) ? to : from);
    });
  });

  it('lets a write that leaves the status out (a heartbeat, say) through in any status', async () => {
    await environment.withDataSource(async (db: DataSource) => {
      for (const status of TASK_STATUSES) {
        const id = await newTask(db, status);
        await expect(
          db.query(`UPDATE task SET heartbeat_at = now() WHERE id = $1 RETURNING status`, [id]),
        ).resolves.toEqual([[{ status }], 1]);
      }
    });
  });

  it('gives new tasks UUIDv7 ids, ordered as they were created', async () => {
    await environment.withDataSource(async (db) => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const [{ id }] = await db.query(
          `INSERT INTO task (organization_id, type, data)
           SELECT id, 'report', '{}' FROM organization LIMIT 1 RETURNING id`,
        );
        ids.push(id);
        await new Promise((resolve) => setTimeout(resolve, 2)); // the next millisecond
      }
      expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(
        true,
      );
      expect([...ids].sort()).toEqual(ids);
      const [{ drift }] = await db.query(
        `SELECT abs(extract(epoch FROM now()) * 1000
                   - ('x' || substr(replace($1::text, '-', ''), 1, 12))::bit(48)::bigint) AS drift`,
        [ids[2]],
      );
      expect(Number(drift)).toBeLessThan(60_000); // its first 48 bits are the creation time in ms
    });
  });

  it('rejects a status outside the five', async () => {
    await environment.withDataSource(async (db) => {
      await expect(
        db.query(
          `INSERT INTO task (organization_id, type, status, data)
           SELECT id, 'report', 'DONE', '{}' FROM organization LIMIT 1`,
        ),
      ).rejects.toThrow('task_status_valid');
    });
  });
});
