import { MigrationInterface, QueryRunner } from 'typeorm';

/** Object sets, schedules, and the scheduler's switches and job records shared by all its replicas. */
export class Schedules1764160000000 implements MigrationInterface {
  name = 'Schedules1764160000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE object_set (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id int NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
        name text NOT NULL,
        object_type varchar(32) NOT NULL,
        query text,
        object_ids text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT object_set_name_unique UNIQUE (organization_id, name)
      )`);
    await q.query(`
      CREATE TABLE schedule (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id int NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
        plugin_id varchar(64) NOT NULL REFERENCES plugin(plugin_id) ON DELETE CASCADE ON UPDATE CASCADE,
        object_set_id uuid NOT NULL REFERENCES object_set(id) ON DELETE CASCADE,
        interval_seconds int NOT NULL CHECK (interval_seconds > 0),
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_run_at timestamptz
      )`);
    // The tick reads enabled schedules; chaining looks them up per organization.
    await q.query(`CREATE INDEX schedule_enabled ON schedule (organization_id) WHERE enabled`);
    await q.query(`CREATE INDEX schedule_object_set ON schedule (object_set_id)`);
    await q.query(
      `ALTER TABLE task ADD CONSTRAINT task_schedule_fk
       FOREIGN KEY (schedule_id) REFERENCES schedule(id) ON DELETE SET NULL`,
    );

    // One row: the switch for every scheduler replica.
    await q.query(`
      CREATE TABLE scheduler_config (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        enabled boolean NOT NULL DEFAULT true
      )`);
    await q.query(`INSERT INTO scheduler_config DEFAULT VALUES`);
    // Each periodic job: its switch and cron, and what its last run did. next_run_at is the one
    // clock all replicas share, so a tick runs once wherever it runs.
    await q.query(`
      CREATE TABLE scheduler_job (
        name text PRIMARY KEY,
        enabled boolean NOT NULL DEFAULT true,
        cron text NOT NULL,
        next_run_at timestamptz NOT NULL DEFAULT now(),
        last_run_at timestamptz,
        last_duration_ms int,
        last_result jsonb
      )`);
    await q.query(`
      INSERT INTO scheduler_job (name, cron) VALUES
        ('create-scheduled-tasks', '* * * * *'),
        ('run-business-rules', '*/15 * * * *'),
        ('reconcile-tasks', '* * * * *')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE scheduler_job`);
    await q.query(`DROP TABLE scheduler_config`);
    await q.query(`ALTER TABLE task DROP CONSTRAINT task_schedule_fk`);
    await q.query(`DROP TABLE schedule`);
    await q.query(`DROP TABLE object_set`);
  }
}
