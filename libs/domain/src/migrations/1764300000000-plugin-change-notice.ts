import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change to the plugin catalogue is announced on the channel `kat_plugin_changed` when it
 * commits (PluginCatalogue: the API's in-process copy, which a request reads instead of PostgreSQL).
 * Once per statement: the copy is dropped whole, whatever changed.
 */
export class PluginChangeNotice1764300000000 implements MigrationInterface {
  name = 'PluginChangeNotice1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION kat_plugin_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('kat_plugin_changed', '');
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER plugin_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plugin
                   FOR EACH STATEMENT EXECUTE FUNCTION kat_plugin_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER plugin_changed ON plugin`);
    await q.query(`DROP FUNCTION kat_plugin_changed()`);
  }
}
