import { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants, tokens, the plugin catalogue and tasks, with the constraints the task lifecycle relies on. */
export class Spine1764144000000 implements MigrationInterface {
  name = 'Spine1764144000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organization (
        id serial PRIMARY KEY,
        code varchar(64) NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_token (
        id serial PRIMARY KEY,
        name text NOT NULL,
        organization_id int REFERENCES organization(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL UNIQUE,
        is_admin boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT api_token_owner CHECK (is_admin OR organization_id IS NOT NULL)
      )`);
    await q.query(`
      CREATE TABLE plugin (
        id serial PRIMARY KEY,
        plugin_id varchar(64) NOT NULL UNIQUE CHECK (plugin_id ~ '^[a-z0-9][a-z0-9_-]*$'),
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        image text NOT NULL,
        command jsonb NOT NULL CHECK (jsonb_typeof(command) = 'array'),
        consumes text[] NOT NULL,
        produces text[] NOT NULL DEFAULT '{}',
        timeout_seconds int NOT NULL DEFAULT 300 CHECK (timeout_seconds BETWEEN 1 AND 86400),
        memory_mb int NOT NULL DEFAULT 256 CHECK (memory_mb BETWEEN 16 AND 65536),
        cap_add text[] NOT NULL DEFAULT '{}',
        settings jsonb NOT NULL DEFAULT '{}',
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE task (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id int NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
        type varchar(32) NOT NULL CHECK (type IN ('plugin', 'business_rule', 'report')),
        status varchar(16) NOT NULL DEFAULT 'PENDING'
          CONSTRAINT task_status_valid CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
        data jsonb NOT NULL DEFAULT '{}',
        plugin_id varchar(64) GENERATED ALWAYS AS (data->>'plugin_id') STORED,
        input_object text GENERATED ALWAYS AS (data->>'input_data') STORED,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        ended_at timestamptz,
        heartbeat_at timestamptz,
        attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        schedule_id uuid,
        parent_task_id uuid REFERENCES task(id) ON DELETE SET NULL,
        CONSTRAINT task_plugin_data CHECK (type <> 'plugin' OR (plugin_id IS NOT NULL AND input_object IS NOT NULL))
      )`);
    // At most one active plugin task per (organization, plugin, input): duplicates are impossible,
    // whichever API replica or scheduler replica creates them.
    await q.query(`
      CREATE UNIQUE INDEX task_one_active_plugin_task ON task (organization_id, plugin_id, input_object)
        WHERE type = 'plugin' AND status IN ('PENDING', 'RUNNING')`);
    // GET /tasks/ newest first, keyset pagination on (created_at, id), optionally by status.
    await q.query(`CREATE INDEX task_org_created ON task (organization_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX task_org_status_created ON task (organization_id, status, created_at DESC, id DESC)`);
    // "Scanned recently?" for schedules and the plugin_id / input_data filters.
    await q.query(
      `CREATE INDEX task_org_plugin_input_created ON task (organization_id, plugin_id, input_object, created_at)`,
    );
    // The reconciler: PENDING tasks in creation order, RUNNING tasks by heartbeat.
    await q.query(`CREATE INDEX task_pending ON task (created_at, id) WHERE status = 'PENDING'`);
    await q.query(`CREATE INDEX task_running ON task (heartbeat_at) WHERE status = 'RUNNING'`);
    await q.query(`CREATE INDEX task_schedule ON task (schedule_id) WHERE schedule_id IS NOT NULL`);
    await q.query(`CREATE INDEX task_parent ON task (parent_task_id) WHERE parent_task_id IS NOT NULL`);

    // The state machine of libs/domain/src/tasks/task-state.ts, enforced by the database so that no
    // code path (or replica) can complete a task twice or resurrect a completed one.
    await q.query(`
      CREATE FUNCTION task_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NOT (
          (OLD.status = 'PENDING' AND NEW.status IN ('RUNNING', 'CANCELLED')) OR
          (OLD.status = 'RUNNING' AND NEW.status IN ('COMPLETED', 'FAILED', 'CANCELLED', 'PENDING')) OR
          (OLD.status IN ('FAILED', 'CANCELLED') AND NEW.status = 'PENDING')
        ) THEN
          RAISE EXCEPTION 'task %: status % -> % is not allowed', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'task_status_transition';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER task_status_transition BEFORE UPDATE OF status ON task
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.status = 'COMPLETED')
        EXECUTE FUNCTION task_check_transition()`);

    await q.query(`
      CREATE TABLE task_log (
        task_id uuid PRIMARY KEY REFERENCES task(id) ON DELETE CASCADE,
        stdout text NOT NULL,
        stderr text NOT NULL,
        stdout_truncated boolean NOT NULL,
        stderr_truncated boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE task_log`);
    await q.query(`DROP TABLE task`);
    await q.query(`DROP FUNCTION task_check_transition`);
    await q.query(`DROP TABLE plugin`);
    await q.query(`DROP TABLE api_token`);
    await q.query(`DROP TABLE organization`);
  }
}
