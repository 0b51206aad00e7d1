import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plugins from the field print their own formats: a plugin declares whether its stdout is objects
 * (JSON lines, as before) or raw output of a media type, kept whole as its task's output file.
 * Normalizers consume `file:<plugin_id>`: they turn that plugin's raw output into objects.
 */
export class RawOutput1764250000000 implements MigrationInterface {
  name = 'RawOutput1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE plugin
      ADD COLUMN output text NOT NULL DEFAULT 'objects' CHECK (output IN ('objects', 'raw')),
      ADD COLUMN media_type text CHECK (media_type ~ '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$'),
      ADD CONSTRAINT plugin_raw_has_media_type CHECK ((output = 'raw') = (media_type IS NOT NULL))`);
    // One file per task (the attempt that completed it); it goes with its task, as its log does.
    await q.query(`CREATE TABLE task_output (
      task_id uuid PRIMARY KEY REFERENCES task (id) ON DELETE CASCADE,
      media_type text NOT NULL,
      content bytea NOT NULL,
      bytes bigint NOT NULL CHECK (bytes >= octet_length(content)),
      truncated boolean NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE task_output`);
    await q.query(`ALTER TABLE plugin DROP COLUMN output, DROP COLUMN media_type`);
  }
}
