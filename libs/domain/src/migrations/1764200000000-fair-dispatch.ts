import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fair and polite dispatch: plugin tasks wait in PostgreSQL (PENDING, `admitted_at` null) until the
 * admission statement (TaskAdmissionRepository) hands the next ones to the queue, in order of
 * priority, then a turn per organization, then age, within the rate limits of their keys.
 */
export class FairDispatch1764200000000 implements MigrationInterface {
  name = 'FairDispatch1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE task
      ADD COLUMN priority smallint NOT NULL DEFAULT 3 CONSTRAINT task_priority_range CHECK (priority BETWEEN 1 AND 9),
      ADD COLUMN run_after timestamptz,
      ADD COLUMN rate_key text,
      ADD COLUMN admitted_at timestamptz`);
    // Tasks queued before this migration are on their queues already.
    await q.query(`UPDATE task SET admitted_at = now() WHERE status = 'PENDING'`);
    await q.query(`ALTER TABLE plugin ADD COLUMN rate_limit jsonb, ADD COLUMN retry jsonb`);
    await q.query(`ALTER TABLE schedule
      ADD COLUMN priority smallint CONSTRAINT schedule_priority_range CHECK (priority BETWEEN 1 AND 9)`);

    // The workers alive now and how many plugin tasks each runs at once: the admission's capacity.
    await q.query(`CREATE TABLE dispatch_worker (
      worker_id text PRIMARY KEY,
      slots int NOT NULL CHECK (slots >= 0),
      seen_at timestamptz NOT NULL DEFAULT now())`);

    // The waiting line: one lane per (priority, organization, plugin), oldest first within it.
    await q.query(`CREATE INDEX task_waiting ON task (priority, organization_id, plugin_id, created_at, id)
                   WHERE status = 'PENDING' AND admitted_at IS NULL AND type = 'plugin'`);
    // Admitted but not yet claimed: the queue's depth, and what reconcile-tasks checks against Redis.
    await q.query(`DROP INDEX task_pending`);
    await q.query(
      `CREATE INDEX task_admitted ON task (admitted_at, id) WHERE status = 'PENDING' AND admitted_at IS NOT NULL`,
    );
    // A key's use: tasks holding a slot of it, and its starts in the last window.
    await q.query(`CREATE INDEX task_rate_active ON task (rate_key) WHERE rate_key IS NOT NULL
                   AND (status = 'RUNNING' OR (status = 'PENDING' AND admitted_at IS NOT NULL))`);
    // Every start of a keyed task (a claim), kept for one window: a start stays counted even if its
    // task is handed back or retried and starts again. Pruned by the admission.
    await q.query(
      `CREATE TABLE rate_key_start (rate_key text NOT NULL, started_at timestamptz NOT NULL DEFAULT now())`,
    );
    await q.query(`CREATE INDEX rate_key_start_key ON rate_key_start (rate_key, started_at)`);
    // Organizations take turns: when each was last given a slot (the admission ranks least recent first).
    await q.query(`CREATE TABLE dispatch_turn (
      organization_id int PRIMARY KEY REFERENCES organization (id) ON DELETE CASCADE,
      served_at timestamptz NOT NULL)`);

    // A plugin's rate_limit.key for one input: each {field} replaced by the input's key field.
    await q.query(`CREATE FUNCTION kat_rate_key(template text, fields jsonb) RETURNS text
      LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        field text;
        resolved text := template;
      BEGIN
        IF template IS NULL THEN RETURN NULL; END IF;
        FOR field IN SELECT (regexp_matches(template, '\\{([a-z_]+)\\}', 'g'))[1] LOOP
          resolved := replace(resolved, '{' || field || '}', coalesce(fields->>field, ''));
        END LOOP;
        RETURN resolved;
      END $$`);
    // How many more tasks of a key may be admitted now: its concurrency less the tasks holding a
    // slot (RUNNING or admitted), and its starts per window less those started or about to start.
    // A null limit is no limit. Served by task_rate_active and rate_key_start_key.
    await q.query(`CREATE FUNCTION kat_rate_room(key text, concurrency int, per_window int, window_seconds float8)
      RETURNS bigint LANGUAGE sql STABLE AS $$
        SELECT least(
          coalesce(concurrency - (SELECT count(*) FROM task WHERE rate_key = key
                                   AND (status = 'RUNNING' OR (status = 'PENDING' AND admitted_at IS NOT NULL))),
                   1e9::bigint),
          coalesce(per_window - (SELECT count(*) FROM rate_key_start s WHERE s.rate_key = key
                                   AND s.started_at > now() - make_interval(secs => window_seconds))
                              - (SELECT count(*) FROM task WHERE rate_key = key
                                   AND (status = 'RUNNING' OR (status = 'PENDING' AND admitted_at IS NOT NULL))
                                   AND status = 'PENDING'), 1e9::bigint))
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION kat_rate_room(text, int, int, float8)`);
    await q.query(`DROP FUNCTION kat_rate_key(text, jsonb)`);
    await q.query(`DROP TABLE dispatch_turn`);
    await q.query(`DROP TABLE rate_key_start`);
    await q.query(`DROP INDEX task_rate_active`);
    await q.query(`DROP INDEX task_admitted`);
    await q.query(`CREATE INDEX task_pending ON task (created_at, id) WHERE status = 'PENDING'`);
    await q.query(`DROP INDEX task_waiting`);
    await q.query(`DROP TABLE dispatch_worker`);
    await q.query(`ALTER TABLE schedule DROP COLUMN priority`);
    await q.query(`ALTER TABLE plugin DROP COLUMN rate_limit, DROP COLUMN retry`);
    await q.query(`ALTER TABLE task DROP COLUMN priority, DROP COLUMN run_after, DROP COLUMN rate_key,
                   DROP COLUMN admitted_at`);
  }
}
