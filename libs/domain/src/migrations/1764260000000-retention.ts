import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention: a periodic job deletes ended tasks (with their logs and output files) past an age per
 * status. What they found stays: an ObjectTask outlives its task (task_id becomes null, its plugin
 * and input remain), as findings and reports already do.
 */
export class Retention1764260000000 implements MigrationInterface {
  name = 'Retention1764260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE object_task ALTER COLUMN task_id DROP NOT NULL,
      DROP CONSTRAINT object_task_task_id_fkey,
      ADD CONSTRAINT object_task_task_id_fkey FOREIGN KEY (task_id) REFERENCES task (id) ON DELETE SET NULL`);
    // The prune's batches: the oldest ended tasks of a status. Partial: a task enters it when it ends.
    await q.query(`CREATE INDEX task_ended ON task (status, ended_at) WHERE ended_at IS NOT NULL`);
    await q.query(`INSERT INTO scheduler_job (name, cron) VALUES ('prune-tasks', '*/10 * * * *')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM scheduler_job WHERE name = 'prune-tasks'`);
    await q.query(`DROP INDEX task_ended`);
    await q.query(`DELETE FROM object_task WHERE task_id IS NULL`);
    await q.query(`ALTER TABLE object_task ALTER COLUMN task_id SET NOT NULL,
      DROP CONSTRAINT object_task_task_id_fkey,
      ADD CONSTRAINT object_task_task_id_fkey FOREIGN KEY (task_id) REFERENCES task (id) ON DELETE CASCADE`);
  }
}
