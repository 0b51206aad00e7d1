import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SEVERITIES, Severity } from './finding-types';

/** A finding as its page lists it: its type and severity, the object it is about, the task that observed it. */
export interface FindingView {
  primary_key: string;
  finding_type: string;
  name: string | null;
  severity: Severity | null;
  ooi_type: string;
  ooi: string;
  evidence: string | null;
  first_seen: Date;
  last_seen: Date;
  /** The newest COMPLETED task that scanned or produced the object, if any is left. */
  observed_by: string | null;
  observed_by_plugin: string | null;
}

/**
 * Findings (objects of type finding, made by the business rules) by severity, most severe first.
 * object_finding_type / the object primary key find them; task_org_input and object_task_output the
 * task that observed each.
 */
@Injectable()
export class FindingRepository {
  constructor(private readonly db: DataSource) {}

  list(organizationId: number, severity: Severity | null, limit: number): Promise<FindingView[]> {
    return this.db.query(
      `SELECT f.primary_key, f.data->>'finding_type' AS finding_type, ft.name, ft.severity,
         f.data->>'ooi_type' AS ooi_type, f.data->>'ooi' AS ooi, f.data->>'evidence' AS evidence,
         f.first_seen, f.last_seen, observed.id AS observed_by, observed.plugin_id AS observed_by_plugin
       FROM object f
       LEFT JOIN finding_type ft ON ft.code = f.data->>'finding_type'
       LEFT JOIN LATERAL (
         SELECT seen.id, seen.plugin_id FROM (
           SELECT t.id, t.plugin_id, t.created_at FROM task t
           WHERE t.organization_id = f.organization_id AND t.input_object = f.data->>'ooi' AND t.status = 'COMPLETED'
           UNION ALL
           SELECT t.id, t.plugin_id, t.created_at FROM object_task ot JOIN task t ON t.id = ot.task_id
           WHERE ot.organization_id = f.organization_id AND ot.output_object = f.data->>'ooi' AND t.status = 'COMPLETED'
         ) seen ORDER BY seen.created_at DESC LIMIT 1) observed ON true
       WHERE f.organization_id = $1 AND f.object_type = 'finding' AND ($2::text IS NULL OR ft.severity = $2)
       ORDER BY array_position($3::text[], ft.severity), f.primary_key
       LIMIT $4`,
      [organizationId, severity, SEVERITIES, limit],
    );
  }
}
