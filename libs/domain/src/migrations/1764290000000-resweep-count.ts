import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A schedule counts the changes to what it scans (`resweeps`), beside clearing swept_at. A full
 * sweep in parts records itself only if the count did not move while its parts ran: swept_at alone
 * cannot say, since clearing an already-null swept_at (the first sweep, or one right after a
 * change) leaves it as it was.
 */
export class ResweepCount1764290000000 implements MigrationInterface {
  name = 'ResweepCount1764290000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE schedule ADD COLUMN resweeps bigint NOT NULL DEFAULT 0`);
    await q.query(`CREATE OR REPLACE FUNCTION kat_schedule_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.swept_at := NULL;
        NEW.resweeps := OLD.resweeps + 1;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE OR REPLACE FUNCTION kat_object_set_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE schedule SET swept_at = NULL, resweeps = resweeps + 1 WHERE object_set_id = NEW.id;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE OR REPLACE FUNCTION kat_plugin_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE schedule SET swept_at = NULL, resweeps = resweeps + 1 WHERE plugin_id = NEW.plugin_id;
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE OR REPLACE FUNCTION kat_plugin_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE schedule SET swept_at = NULL WHERE plugin_id = NEW.plugin_id;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE OR REPLACE FUNCTION kat_object_set_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE schedule SET swept_at = NULL WHERE object_set_id = NEW.id;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE OR REPLACE FUNCTION kat_schedule_resweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.swept_at := NULL;
        RETURN NEW;
      END $$`);
    await q.query(`ALTER TABLE schedule DROP COLUMN resweeps`);
  }
}
