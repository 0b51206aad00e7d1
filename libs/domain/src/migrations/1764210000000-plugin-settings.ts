import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-organization plugin settings (an organization's own API keys for external services), each
 * value sealed with AES-256-GCM under SECRETS_KEY, which lives outside the database
 * (libs/domain/src/plugins/settings-cipher.ts). `key_id` names the key a value was sealed with.
 * The primary key serves both readers: the API's list of names and the claim of a plugin task,
 * each by (organization_id, plugin_id).
 */
export class PluginSettings1764210000000 implements MigrationInterface {
  name = 'PluginSettings1764210000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE plugin_setting (
        organization_id int NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
        plugin_id varchar(64) NOT NULL REFERENCES plugin (plugin_id) ON DELETE CASCADE ON UPDATE CASCADE,
        name text NOT NULL CONSTRAINT plugin_setting_name CHECK (name ~ '^[A-Z][A-Z0-9_]{0,63}$'),
        value_encrypted bytea NOT NULL,
        key_id text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, plugin_id, name)
      )`);
    // Deleting a plugin cascades here; the primary key leads with organization_id, so this one finds its rows.
    await q.query(`CREATE INDEX plugin_setting_plugin ON plugin_setting (plugin_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE plugin_setting`);
  }
}
