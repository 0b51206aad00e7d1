import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SEVERITIES } from '../rules/finding-types';
import { membershipSql } from '../object-sets/object-set.repository';
import { ObjectSet } from '../object-sets/object-set.entity';

export const REPORT_TYPES = ['findings_summary'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

export interface StoredReport {
  id: string;
  organization: string;
  report_type: ReportType;
  object_set_id: string | null;
  task_id: string | null;
  created_at: Date;
  data: FindingsSummary;
}

export interface FindingsSummary {
  scope: {
    organization: string;
    object_set: { id: string; name: string; object_type: string } | null;
    objects: number;
  };
  total_findings: number;
  by_severity: Record<string, number>;
  by_finding_type: Array<{
    code: string;
    name: string;
    severity: string;
    score: number;
    count: number;
    affected_objects: number;
    ooi_type: string;
    objects_of_type: number;
    share_of_objects: number;
    recommendation: string;
  }>;
  top_objects: Array<{ ooi_type: string; ooi: string; findings: number; finding_types: string[] }>;
}

/**
 * Reports: the findings_summary is computed by a few aggregate queries over the findings in scope
 * (the organization, or the members of an object set) and stored as JSON.
 */
@Injectable()
export class ReportRepository {
  constructor(private readonly db: DataSource) {}

  async findingsSummary(organizationId: number, set: ObjectSet | null): Promise<FindingsSummary> {
    const params: unknown[] = [organizationId];
    // The objects in scope: every object of the organization, or the set's members.
    const scope = set
      ? `SELECT o.object_type, o.primary_key FROM object o
         WHERE o.organization_id = $1 AND o.object_type = $${params.push(set.object_type)}
           AND ${membershipSql(set, params)}`
      : `SELECT o.object_type, o.primary_key FROM object o WHERE o.organization_id = $1 AND o.object_type <> 'finding'`;
    const findings = `
      SELECT f.data->>'finding_type' AS code, f.data->>'ooi_type' AS ooi_type, f.data->>'ooi' AS ooi
      FROM object f JOIN scope s ON s.object_type = f.data->>'ooi_type' AND s.primary_key = f.data->>'ooi'
      WHERE f.organization_id = $1 AND f.object_type = 'finding'`;
    const [organization] = await this.db.query(`SELECT code FROM organization WHERE id = $1`, [organizationId]);
    const byType: FindingsSummary['by_finding_type'] = await this.db.query(
      `WITH scope AS MATERIALIZED (${scope}), findings AS (${findings}),
            sizes AS (SELECT object_type, count(*)::int AS n FROM scope GROUP BY object_type)
       SELECT ft.code, ft.name, ft.severity, ft.score::float AS score, count(*)::int AS count,
              count(DISTINCT f.ooi)::int AS affected_objects, min(f.ooi_type) AS ooi_type,
              coalesce(max(sizes.n), 0) AS objects_of_type,
              round(count(DISTINCT f.ooi)::numeric / greatest(coalesce(max(sizes.n), 0), 1), 4)::float
                AS share_of_objects,
              ft.recommendation
       FROM findings f JOIN finding_type ft ON ft.code = f.code LEFT JOIN sizes ON sizes.object_type = f.ooi_type
       GROUP BY ft.code ORDER BY ft.score DESC, ft.code`,
      params,
    );
    const top: FindingsSummary['top_objects'] = await this.db.query(
      `WITH scope AS MATERIALIZED (${scope}), findings AS (${findings})
       SELECT ooi_type, ooi, count(*)::int AS findings, array_agg(code ORDER BY code) AS finding_types
       FROM findings GROUP BY ooi_type, ooi ORDER BY count(*) DESC, ooi LIMIT 10`,
      params,
    );
    const [{ objects }] = await this.db.query(
      `WITH scope AS (${scope}) SELECT count(*)::int AS objects FROM scope`,
      params,
    );
    const bySeverity = Object.fromEntries(
      SEVERITIES.map((s) => [s, byType.filter((t) => t.severity === s).reduce((n, t) => n + t.count, 0)]),
    );
    return {
      scope: {
        organization: organization.code,
        object_set: set && { id: set.id, name: set.name, object_type: set.object_type },
        objects,
      },
      total_findings: byType.reduce((n, t) => n + t.count, 0),
      by_severity: bySeverity,
      by_finding_type: byType,
      top_objects: top,
    };
  }

  /**
   * Stores the report its task made, only while that attempt still holds the task: a run that was
   * cancelled or taken over meanwhile must not add a second report. Null when it no longer holds it.
   */
  async save(
    report: {
      organization_id: number;
      report_type: ReportType;
      object_set_id: string | null;
      task_id: string;
      data: FindingsSummary;
    },
    attempt: number,
  ): Promise<string | null> {
    const rows = await this.db.query(
      `INSERT INTO report (organization_id, report_type, object_set_id, task_id, data)
       SELECT $1, $2, $3, $4, $5 FROM task WHERE id = $4 AND status = 'RUNNING' AND attempts = $6
       RETURNING id`,
      [report.organization_id, report.report_type, report.object_set_id, report.task_id, report.data, attempt],
    );
    return rows[0]?.id ?? null;
  }

  async list(organizationId: number, limit: number): Promise<Array<Omit<StoredReport, 'data'>>> {
    return this.db.query(
      `SELECT r.id, o.code AS organization, r.report_type, r.object_set_id, r.task_id, r.created_at
       FROM report r JOIN organization o ON o.id = r.organization_id
       WHERE r.organization_id = $1 ORDER BY r.created_at DESC LIMIT $2`,
      [organizationId, limit],
    );
  }

  async get(organizationId: number, id: string): Promise<StoredReport | null> {
    const rows = await this.db.query(
      `SELECT r.id, o.code AS organization, r.report_type, r.object_set_id, r.task_id, r.created_at, r.data
       FROM report r JOIN organization o ON o.id = r.organization_id WHERE r.organization_id = $1 AND r.id = $2`,
      [organizationId, id],
    );
    return rows[0] ?? null;
  }
}
