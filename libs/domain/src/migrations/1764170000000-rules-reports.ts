import { MigrationInterface, QueryRunner } from 'typeorm';

/** Finding types, the per-organization switch of each business rule, reports, and the indexes rules need. */
export class RulesReports1764170000000 implements MigrationInterface {
  name = 'RulesReports1764170000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE finding_type (
        code varchar(64) PRIMARY KEY,
        name text NOT NULL,
        description text NOT NULL,
        recommendation text NOT NULL,
        severity varchar(16) NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'recommendation')),
        score numeric(3, 1) NOT NULL CHECK (score BETWEEN 0 AND 10)
      )`);
    // No row means enabled: a rule added later applies everywhere until switched off.
    await q.query(`
      CREATE TABLE business_rule_setting (
        organization_id int NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
        rule_id varchar(64) NOT NULL,
        enabled boolean NOT NULL,
        PRIMARY KEY (organization_id, rule_id)
      )`);
    await q.query(`
      CREATE TABLE report (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id int NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
        report_type varchar(64) NOT NULL,
        object_set_id uuid REFERENCES object_set(id) ON DELETE SET NULL,
        task_id uuid REFERENCES task(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        data jsonb NOT NULL
      )`);
    await q.query(`CREATE INDEX report_org_created ON report (organization_id, created_at DESC)`);
    // Rules join records to their hostname, headers to theirs, and findings by type.
    await q.query(
      `CREATE INDEX object_dnsrecord_hostname ON object (organization_id, (data->>'hostname'))
       WHERE object_type = 'dnsrecord'`,
    );
    await q.query(
      `CREATE INDEX object_httpheader_hostname ON object (organization_id, (data->>'hostname'))
       WHERE object_type = 'httpheader'`,
    );
    await q.query(
      `CREATE INDEX object_finding_type ON object (organization_id, (data->>'finding_type'))
       WHERE object_type = 'finding'`,
    );
    await q.query(
      `CREATE INDEX object_finding_ooi ON object (organization_id, (data->>'ooi')) WHERE object_type = 'finding'`,
    );
    // "Did a COMPLETED task of plugin P scan or produce object O?" (rules' requires).
    await q.query(
      `CREATE INDEX task_completed_plugin_input ON task (organization_id, plugin_id, input_object)
       WHERE status = 'COMPLETED'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX task_completed_plugin_input`);
    await q.query(`DROP INDEX object_finding_ooi`);
    await q.query(`DROP INDEX object_finding_type`);
    await q.query(`DROP INDEX object_httpheader_hostname`);
    await q.query(`DROP INDEX object_dnsrecord_hostname`);
    await q.query(`DROP TABLE report`);
    await q.query(`DROP TABLE business_rule_setting`);
    await q.query(`DROP TABLE finding_type`);
  }
}
