import { INestApplicationContext } from '@nestjs/common';
import { KatMetrics } from '@kat/runtime';
import { JobRunner, PruneTasksJob } from '@kat/scheduling';
import { Client } from 'pg';
import { startScheduler } from './support/apps';
import { TestEnvironment, waitFor } from './support/environment';

/**
 * The retention job deletes ended tasks past their status's age, with their logs and output files,
 * and keeps what they found; it runs beside the other jobs, so a slow prune holds up no tick.
 */
describe('retention', () => {
  let environment: TestEnvironment;
  let scheduler: INestApplicationContext;
  const sql = (text: string, params: unknown[] = []) => environment.withDataSource((db) => db.query(text, params));

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    await environment.token('acme');
    scheduler = await startScheduler(
      environment.settings({
        SCHEDULER_ENABLED: 'false', // ticks are driven by the test
        RETAIN_COMPLETED_DAYS: '30',
        RETAIN_FAILED_DAYS: '90',
        RETAIN_CANCELLED_DAYS: '7',
      }),
    );
  });

  afterAll(async () => {
    await scheduler?.close();
    await environment?.destroy();
  });

  beforeEach(() => sql('DELETE FROM task'));

  /**
   * A plugin task of acme in `status`, ended `endedDaysAgo` days ago (null: not ended), on `input`
   * (by default one of its own); its id. Tasks made later are newer.
   */
  async function task(
    status: string,
    endedDaysAgo: number | null,
    parent: string | null = null,
    input: string | null = null,
  ): Promise<string> {
    const [{ id }] = await sql(
      `INSERT INTO task (organization_id, type, status, data, parent_task_id, created_at, ended_at)
       SELECT id, 'plugin', $1,
              jsonb_build_object('plugin_id', 'dns_records',
                                 'input_data', coalesce($4, 'internet|' || gen_random_uuid() || '.test')),
              $3, now() - interval '400 days', now() - make_interval(days => $2)
       FROM organization WHERE code = 'acme' RETURNING id`,
      [status, endedDaysAgo, parent, input],
    );
    return id;
  }

  const tick = async () => {
    await sql(`UPDATE scheduler_job SET next_run_at = now() WHERE name = 'prune-tasks'`);
    return scheduler.get(JobRunner).runIfDue(scheduler.get(PruneTasksJob));
  };

  it("deletes ended tasks past their status's age, with their logs and files, and keeps what they found", async () => {
    const oldCompleted = await task('COMPLETED', 31, null, 'internet|twice.test');
    const tasks = {
      oldCompleted,
      // The newest COMPLETED scan of a plugin and input stays however old: rules judge objects by it.
      newestOfTwo: await task('COMPLETED', 31, null, 'internet|twice.test'),
      onlyScan: await task('COMPLETED', 60),
      youngCompleted: await task('COMPLETED', 29),
      youngFailed: await task('FAILED', 31),
      oldFailed: await task('FAILED', 91),
      oldCancelled: await task('CANCELLED', 8),
      waiting: await task('PENDING', null),
      child: await task('RUNNING', null, oldCompleted),
    };
    await sql(
      `INSERT INTO task_log (task_id, stdout, stderr, stdout_truncated, stderr_truncated)
       VALUES ($1, '', 'x', false, false)`,
      [oldCompleted],
    );
    await sql(
      `INSERT INTO task_output (task_id, media_type, content, bytes, truncated)
       VALUES ($1, 'text/plain', 'x', 1, false)`,
      [oldCompleted],
    );
    await sql(
      `INSERT INTO object_task (organization_id, task_id, plugin_id, input_object, output_type, output_object)
       SELECT organization_id, id, 'dns_records', 'internet|found.example', 'hostname', 'internet|www.found.example'
       FROM task WHERE id = $1`,
      [oldCompleted],
    );

    expect(await tick()).toEqual({ completed: 1, failed: 1, cancelled: 1 });
    const left: Array<{ id: string; parent_task_id: string | null }> = await sql(
      `SELECT id, parent_task_id FROM task ORDER BY created_at, id`,
    );
    const byId = new Map(left.map((t) => [t.id, t]));
    const kept = [
      tasks.newestOfTwo,
      tasks.onlyScan,
      tasks.youngCompleted,
      tasks.youngFailed,
      tasks.waiting,
      tasks.child,
    ];
    expect([...byId.keys()].sort()).toEqual(kept.sort());
    expect(byId.get(tasks.child)?.parent_task_id).toBeNull();
    expect(await sql(`SELECT task_id FROM task_log UNION ALL SELECT task_id FROM task_output`)).toEqual([]);
    // What the deleted task found is still known: by its plugin and input, without the task.
    expect(await sql(`SELECT task_id, plugin_id, input_object, output_object FROM object_task`)).toEqual([
      {
        task_id: null,
        plugin_id: 'dns_records',
        input_object: 'internet|found.example',
        output_object: 'internet|www.found.example',
      },
    ]);
    const metric = await scheduler.get(KatMetrics).registry.getSingleMetricAsString('kat_scheduler_tasks_pruned_total');
    expect(metric).toContain('kat_scheduler_tasks_pruned_total{status="COMPLETED"} 1');
    expect(metric).toContain('kat_scheduler_tasks_pruned_total{status="FAILED"} 1');

    expect(await tick()).toEqual({ completed: 0, failed: 0, cancelled: 0 });
  });

  it('runs beside the other jobs: a prune that waits on a lock holds up no tick', async () => {
    const doomed = await task('COMPLETED', 31, null, 'internet|twice.test');
    const newest = await task('COMPLETED', 31, null, 'internet|twice.test');
    // Deleting a task deletes its log rows: with task_log locked, the prune waits.
    const blocker = new Client({ connectionString: environment.settings().DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE task_log IN ACCESS EXCLUSIVE MODE');
      await sql(`UPDATE scheduler_job SET next_run_at = now(), last_run_at = NULL
                 WHERE name IN ('prune-tasks', 'reconcile-tasks')`);
      const polled = scheduler.get(JobRunner).poll();
      const held = new Promise((resolve) => setTimeout(() => resolve('held up'), 10_000));
      expect(await Promise.race([polled.then(() => 'done'), held])).toBe('done');
      const ran = async (name: string) =>
        (await sql(`SELECT last_run_at IS NOT NULL AS ran FROM scheduler_job WHERE name = $1`, [name]))[0].ran;
      expect(await ran('reconcile-tasks')).toBe(true);
      expect(await ran('prune-tasks')).toBe(false);
      await blocker.query('COMMIT');
      await waitFor('the prune to finish', () => ran('prune-tasks'));
      // (The poll ran every due job: run-business-rules made acme a business_rule task meanwhile.)
      expect(await sql(`SELECT id FROM task WHERE type = 'plugin'`)).toEqual([{ id: newest }]);
      expect(doomed).not.toBe(newest);
    } finally {
      await blocker.end();
    }
  });
});
