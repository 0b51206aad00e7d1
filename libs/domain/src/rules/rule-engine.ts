import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BUSINESS_RULES, BusinessRule } from './business-rules';

export interface RuleResult {
  rule_id: string;
  created: number;
  removed: number;
  total: number;
}

/**
 * Evaluates business rules: for one rule and organization, one statement (in its own
 * transaction, serialised per rule and organization by an advisory lock) upserts the findings
 * that hold now and deletes the rule's findings that no longer do. A disabled rule holds nothing.
 */
@Injectable()
export class RuleEngine {
  constructor(private readonly db: DataSource) {}

  async evaluate(rule: BusinessRule, organizationId: number): Promise<RuleResult> {
    const enabled = await this.isEnabled(rule.rule_id, organizationId);
    const params: unknown[] = [organizationId, rule.finding_types, rule.rule_id];
    const requires = rule.requires.map((pluginId) => {
      params.push(pluginId);
      const p = `$${params.length}`;
      return `(EXISTS (SELECT 1 FROM task t
                       WHERE t.organization_id = $1 AND t.plugin_id = ${p}
                         AND t.status = 'COMPLETED' AND t.input_object = found.ooi)
           OR EXISTS (SELECT 1 FROM object_task ot JOIN task t ON t.id = ot.task_id AND t.status = 'COMPLETED'
                      WHERE ot.organization_id = $1 AND ot.plugin_id = ${p} AND ot.output_object = found.ooi))`;
    });
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1), $2)`, [rule.rule_id, organizationId]);
      // Rules join whole sets whose sizes PostgreSQL cannot estimate from jsonb fields; a nested
      // loop chosen on a bad estimate turns seconds into hours, so this transaction hashes.
      await tx.query(`SET LOCAL enable_nestloop = off`);
      await tx.query(`SET LOCAL work_mem = '64MB'`);
      const [row] = await tx.query(
        `WITH found AS (${
          enabled
            ? rule.sql
            : `SELECT NULL::text AS finding_type, NULL::text AS ooi_type, NULL::text AS ooi, NULL::text AS evidence
               WHERE false AND $1::int IS NULL`
        }),
         held AS MATERIALIZED (
           SELECT DISTINCT ON (key) found.finding_type || '|' || found.ooi_type || '|' || found.ooi AS key, found.*
           FROM found WHERE found.finding_type = ANY($2::text[]) ${requires.map((r) => `AND ${r}`).join(' ')}),
         written AS (
           INSERT INTO object (organization_id, object_type, primary_key, data)
           SELECT $1, 'finding', key, jsonb_build_object('finding_type', finding_type, 'ooi_type', ooi_type, 'ooi', ooi,
                                                         'evidence', evidence, 'rule_id', $3::text)
           FROM held
           ON CONFLICT (organization_id, object_type, primary_key) DO UPDATE SET data = EXCLUDED.data, last_seen = now()
           RETURNING (xmax = 0) AS inserted),
         removed AS (
           DELETE FROM object o
           WHERE o.organization_id = $1 AND o.object_type = 'finding' AND o.data->>'finding_type' = ANY($2::text[])
             -- a hashed subplan, whatever the estimates
             AND NOT (o.primary_key = ANY (SELECT key FROM held WHERE key IS NOT NULL))
           RETURNING 1)
         SELECT (SELECT count(*) FROM written WHERE inserted)::int AS created,
                (SELECT count(*) FROM removed)::int AS removed, (SELECT count(*) FROM held)::int AS total`,
        params,
      );
      return { rule_id: rule.rule_id, ...row };
    });
  }

  /** Every rule for the organization, one transaction each; sums in `result`. */
  async evaluateAll(
    organizationId: number,
  ): Promise<{ created: number; removed: number; total: number; rules: Array<RuleResult & { duration_ms: number }> }> {
    const rules: Array<RuleResult & { duration_ms: number }> = [];
    for (const rule of BUSINESS_RULES) {
      const started = Date.now();
      rules.push({ ...(await this.evaluate(rule, organizationId)), duration_ms: Date.now() - started });
    }
    const sum = (key: 'created' | 'removed' | 'total') => rules.reduce((n, r) => n + r[key], 0);
    return { created: sum('created'), removed: sum('removed'), total: sum('total'), rules };
  }

  async isEnabled(ruleId: string, organizationId: number): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT enabled FROM business_rule_setting WHERE organization_id = $1 AND rule_id = $2`,
      [organizationId, ruleId],
    );
    return rows[0]?.enabled ?? true;
  }

  async setEnabled(ruleId: string, organizationId: number, enabled: boolean): Promise<void> {
    await this.db.query(
      `INSERT INTO business_rule_setting (organization_id, rule_id, enabled) VALUES ($1, $2, $3)
       ON CONFLICT (organization_id, rule_id) DO UPDATE SET enabled = $3`,
      [organizationId, ruleId, enabled],
    );
  }
}
