import { MigrationInterface, QueryRunner } from 'typeorm';

/** The object store, the ObjectTask records of which task produced which object, and the plugin-token key. */
export class Objects1764150000000 implements MigrationInterface {
  name = 'Objects1764150000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE object (
        organization_id int NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
        object_type varchar(32) NOT NULL
          CHECK (object_type IN (
            'network', 'hostname', 'ipaddress', 'ipport', 'dnsrecord', 'certificate', 'httpheader', 'finding')),
        primary_key text NOT NULL,
        data jsonb NOT NULL,
        first_seen timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz NOT NULL DEFAULT now(),
        -- Upserts by natural key; lists per type in key order (keyset pagination, prefix filters).
        PRIMARY KEY (organization_id, object_type, primary_key)
      )`);
    await q.query(`
      CREATE TABLE object_task (
        id bigserial PRIMARY KEY,
        organization_id int NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
        task_id uuid NOT NULL REFERENCES task(id) ON DELETE CASCADE,
        plugin_id varchar(64) NOT NULL,
        input_object text NOT NULL,
        output_type varchar(32) NOT NULL,
        output_object text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT object_task_once UNIQUE (task_id, output_type, output_object)
      )`);
    // GET /object-tasks/ by output object, or by plugin and input.
    await q.query(`CREATE INDEX object_task_output ON object_task (organization_id, output_object)`);
    await q.query(`CREATE INDEX object_task_plugin_input ON object_task (organization_id, plugin_id, input_object)`);
    // The key that signs plugin tokens: random, made by the database, never in configuration.
    await q.query(`CREATE TABLE kat_secret (name text PRIMARY KEY, value text NOT NULL)`);
    await q.query(`
      INSERT INTO kat_secret (name, value)
      VALUES ('plugin_token_key', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE kat_secret`);
    await q.query(`DROP TABLE object_task`);
    await q.query(`DROP TABLE object`);
  }
}
