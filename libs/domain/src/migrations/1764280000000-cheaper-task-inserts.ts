import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A task insert costs one entry per index, and a first tick of a schedule inserts one task per object
 * of its set (100,000 in one statement: 3.0 s, of which each index is 0.1–0.2 s). Two costs that
 * served nothing go:
 *   - task_org_plugin_input_created: the probes "was this object scanned by this plugin recently?"
 *     were already planned on task_org_input (organization, input) with the plugin as a filter,
 *     which reads the few tasks of one object; the index only added its entry to every insert.
 *   - kat_rate_key is STRICT: a plugin without a rate limit (a null template) gets a null key
 *     without a PL/pgSQL call per row (0.2 s a first tick). Its callers never pass null fields.
 */
export class CheaperTaskInserts1764280000000 implements MigrationInterface {
  name = 'CheaperTaskInserts1764280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX task_org_plugin_input_created`);
    await q.query(`ALTER FUNCTION kat_rate_key(text, jsonb) STRICT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER FUNCTION kat_rate_key(text, jsonb) CALLED ON NULL INPUT`);
    await q.query(
      `CREATE INDEX task_org_plugin_input_created ON task (organization_id, plugin_id, input_object, created_at)`,
    );
  }
}
