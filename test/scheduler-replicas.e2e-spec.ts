import { INestApplicationContext } from '@nestjs/common';
import { TaskType } from '@kat/domain';
import { TaskDispatcher } from '@kat/queue';
import { JobRunner, lockKey, ReconcileTasksJob } from '@kat/scheduling';
import { startScheduler } from './support/apps';
import { TestEnvironment } from './support/environment';

/** Several scheduler replicas may run at once; a tick's work is done once. */
describe('scheduler replicas', () => {
  let environment: TestEnvironment;
  let replicas: INestApplicationContext[];

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.token('acme');
    // Ticks are driven by the test, not by the cron.
    const settings = environment.settings({ SCHEDULER_ENABLED: 'false', STALE_AFTER_SECONDS: '60' });
    replicas = [await startScheduler(settings), await startScheduler(settings)];
  });

  afterAll(async () => {
    for (const replica of replicas ?? []) await replica.close();
    await environment?.destroy();
  });

  /** Makes reconcile-tasks due, then lets every replica try to run it at once. */
  const tickAll = async () => {
    await environment.withDataSource((db) =>
      db.query(`UPDATE scheduler_job SET next_run_at = now() WHERE name = 'reconcile-tasks'`),
    );
    return Promise.all(replicas.map((r) => r.get(JobRunner).runIfDue(r.get(ReconcileTasksJob))));
  };

  it('hands back each stale task once when two replicas reconcile at the same time', async () => {
    await environment.withDataSource((db) =>
      db.query(
        `INSERT INTO task (organization_id, type, status, data, started_at, heartbeat_at, attempts)
         SELECT o.id, 'plugin', 'RUNNING',
                jsonb_build_object('plugin_id', 'p', 'input_data', 'internet|h' || i || '.example'),
                now() - interval '1 hour', now() - interval '1 hour', 1
         FROM organization o, generate_series(1, 50) i WHERE o.code = 'acme'`,
      ),
    );
    const results = await tickAll();
    const done = results.filter((r) => r !== null);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ handed_back: 50, failed: 0 });

    const rows = await environment.withDataSource((db) =>
      db.query(
        `SELECT status, attempts, admitted_at IS NULL AS waiting, count(*)::int AS n FROM task GROUP BY 1, 2, 3`,
      ),
    );
    // Back in the waiting line once each, for the admission (in the workers) to queue in turn.
    expect(rows).toEqual([{ status: 'PENDING', attempts: 1, waiting: true, n: 50 }]);
    const queue = replicas[0].get(TaskDispatcher).queueFor(TaskType.PLUGIN);
    expect(await queue.getWaitingCount()).toBe(0);
  });

  it("skips a tick while another replica holds the job's lock, and records the tick that ran", async () => {
    await environment.withDataSource(async (db) => {
      const runner = db.createQueryRunner();
      await runner.connect();
      try {
        await runner.query(`SELECT pg_advisory_lock($1::bigint)`, [lockKey('reconcile-tasks')]);
        expect(await tickAll()).toEqual([null, null]);
        await runner.query(`SELECT pg_advisory_unlock($1::bigint)`, [lockKey('reconcile-tasks')]);
        expect((await tickAll()).filter((r) => r !== null)).toHaveLength(1);
        const [job] = await db.query(
          `SELECT next_run_at > now() AS later, last_result FROM scheduler_job WHERE name = 'reconcile-tasks'`,
        );
        expect(job).toEqual({ later: true, last_result: { handed_back: 0, failed: 0, requeued: 0 } });
      } finally {
        await runner.release();
      }
    });
  });
});
