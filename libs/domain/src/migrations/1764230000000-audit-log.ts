import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who did what: one row per operator action, append-only (a trigger refuses UPDATE, DELETE and
 * TRUNCATE). No foreign keys: an entry outlives the organization, token or task it names.
 */
export class AuditLog1764230000000 implements MigrationInterface {
  name = 'AuditLog1764230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE audit_entry (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      organization_id int,
      organization_code text,
      actor_token_id int,
      actor text NOT NULL,
      via text NOT NULL CHECK (via IN ('api', 'web', 'cli')),
      action text NOT NULL,
      target_type text NOT NULL,
      target_id text,
      changes jsonb NOT NULL DEFAULT '{}'
    )`);
    // An organization's entries, newest first; the admins' list of all is the primary key's.
    await q.query(`CREATE INDEX audit_entry_organization ON audit_entry (organization_id, id DESC)`);
    await q.query(`CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
                   FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()`);
    await q.query(`CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
                   FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_entry`);
    await q.query(`DROP FUNCTION audit_entry_append_only()`);
  }
}
