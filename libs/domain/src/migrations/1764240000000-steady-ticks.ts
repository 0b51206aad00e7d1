import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a steady tick needs to look only at what changed since the schedule's last tick
 * (scheduled-task-inserts.ts): when each object's data last changed, the tasks that ended lately,
 * and per schedule the start of its last tick (swept_at) and of its last full sweep. A change to
 * what a schedule scans (its interval, set or plugin, the set's filter or list, the plugin's
 * input types) clears swept_at, so its next tick is a full sweep again, whoever wrote the change.
 */
export class SteadyTicks1764240000000 implements MigrationInterface {
  name = 'SteadyTicks1764240000000';

  async up(q: QueryRunner): Promise<void> {
    // now() is stable: the existing rows take the migration's time without a table rewrite.
    await q.query(`ALTER TABLE object ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`CREATE INDEX object_changed ON object (organization_id, object_type, changed_at)`);
    // An upsert that only sees the object again (last_seen) is not a change: the WHEN skips the call.
    await q.query(`CREATE FUNCTION kat_object_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.changed_at := now();
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER object_changed BEFORE UPDATE ON object
                   FOR EACH ROW WHEN (OLD.data IS DISTINCT FROM NEW.data) EXECUTE FUNCTION kat_object_changed()`);
    // A plugin's tasks of an organization by when they were created (their interval runs out) and
    // when they ended (an object an active task kept from being due may be due now).
    await q.query(`CREATE INDEX task_org_plugin_created ON task (organization_id, plugin_id, created_at)`);
    await q.query(
      `CREATE INDEX task_org_plugin_ended ON task (organization_id, plugin_id, ended_at) WHERE ended_at IS NOT NULL`,
    );

    await q.query(`ALTER TABLE schedule ADD COLUMN swept_at timestamptz, ADD COLUMN full_swept_at timestamptz`);
    await q.query(`CREATE FUNCTION kat_schedule_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.swept_at := NULL;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER schedule_resweep BEFORE UPDATE ON schedule FOR EACH ROW
                   WHEN ((OLD.interval_seconds, OLD.object_set_id, OLD.plugin_id)
                         IS DISTINCT FROM (NEW.interval_seconds, NEW.object_set_id, NEW.plugin_id))
                   EXECUTE FUNCTION kat_schedule_resweep()`);
    await q.query(`CREATE FUNCTION kat_object_set_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE schedule SET swept_at = NULL WHERE object_set_id = NEW.id;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER object_set_resweep AFTER UPDATE ON object_set FOR EACH ROW
                   WHEN ((OLD.object_type, OLD.query, OLD.object_ids) IS DISTINCT FROM
                         (NEW.object_type, NEW.query, NEW.object_ids))
                   EXECUTE FUNCTION kat_object_set_resweep()`);
    await q.query(`CREATE FUNCTION kat_plugin_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE schedule SET swept_at = NULL WHERE plugin_id = NEW.plugin_id;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER plugin_resweep AFTER UPDATE ON plugin FOR EACH ROW
                   WHEN (OLD.consumes IS DISTINCT FROM NEW.consumes) EXECUTE FUNCTION kat_plugin_resweep()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER plugin_resweep ON plugin`);
    await q.query(`DROP FUNCTION kat_plugin_resweep()`);
    await q.query(`DROP TRIGGER object_set_resweep ON object_set`);
    await q.query(`DROP FUNCTION kat_object_set_resweep()`);
    await q.query(`DROP TRIGGER schedule_resweep ON schedule`);
    await q.query(`DROP FUNCTION kat_schedule_resweep()`);
    await q.query(`ALTER TABLE schedule DROP COLUMN swept_at, DROP COLUMN full_swept_at`);
    await q.query(`DROP INDEX task_org_plugin_ended`);
    await q.query(`DROP INDEX task_org_plugin_created`);
    await q.query(`DROP TRIGGER object_changed ON object`);
    await q.query(`DROP FUNCTION kat_object_changed()`);
    await q.query(`DROP INDEX object_changed`);
    await q.query(`ALTER TABLE object DROP COLUMN changed_at`);
  }
}
