import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OBJECT_TYPES, ObjectType } from './object-keys';
import { StoredObject, toStored } from './object.repository';

/** How many of each list an object's page shows: the newest. */
const SHOWN = 50;

/** A task that produced the object, and what it took as input. */
export interface ProducingTask {
  task_id: string | null;
  plugin_id: string;
  input_object: string;
  status: string | null;
  created_at: Date;
}

/** A task that took the object as input, and what it produced. */
export interface ConsumingTask {
  id: string;
  plugin_id: string;
  status: string;
  created_at: Date;
  outputs: Array<{ type: ObjectType; key: string }>;
}

/** An object with the tasks around it: what produced it (and from what), what consumed it (and made what). */
export interface ObjectChain {
  producedBy: ProducingTask[];
  consumedBy: ConsumingTask[];
  findings: StoredObject[];
  /** The type of each key named above that is an object of the organization (inputs and outputs). */
  typeOf: Record<string, ObjectType>;
}

/**
 * The object pages' queries: one object's neighbourhood in the task graph, and a search by key.
 * Each is a set-based statement over an index (named on each).
 */
@Injectable()
export class ObjectChainRepository {
  constructor(private readonly db: DataSource) {}

  async chain(organizationId: number, type: ObjectType, key: string): Promise<ObjectChain> {
    const [producedBy, consumedBy, findings] = await Promise.all([
      // object_task_output
      this.db.query(
        `SELECT ot.task_id, ot.plugin_id, ot.input_object, t.status, ot.created_at
         FROM object_task ot LEFT JOIN task t ON t.id = ot.task_id
         WHERE ot.organization_id = $1 AND ot.output_object = $3 AND ot.output_type = $2
         ORDER BY ot.id DESC LIMIT ${SHOWN}`,
        [organizationId, type, key],
      ) as Promise<ProducingTask[]>,
      // task_org_input, then object_task_once per task
      this.db.query(
        `SELECT t.id, t.plugin_id, t.status, t.created_at,
           coalesce((SELECT jsonb_agg(jsonb_build_object('type', o.output_type, 'key', o.output_object))
                     FROM (SELECT output_type, output_object FROM object_task
                           WHERE task_id = t.id ORDER BY id LIMIT ${SHOWN}) o), '[]') AS outputs
         FROM task t WHERE t.organization_id = $1 AND t.input_object = $2
         ORDER BY t.created_at DESC, t.id DESC LIMIT ${SHOWN}`,
        [organizationId, key],
      ) as Promise<ConsumingTask[]>,
      // object_finding_ooi
      this.db.query(
        `SELECT object_type, primary_key, first_seen, last_seen, data FROM object
         WHERE organization_id = $1 AND object_type = 'finding' AND data->>'ooi' = $3 AND data->>'ooi_type' = $2
         ORDER BY primary_key LIMIT ${SHOWN}`,
        [organizationId, type, key],
      ),
    ]);
    const named = [...producedBy.map((p) => p.input_object), ...consumedBy.flatMap((c) => c.outputs.map((o) => o.key))];
    return {
      producedBy,
      consumedBy,
      findings: findings.map(toStored),
      typeOf: await this.typesOf(organizationId, named),
    };
  }

  /** Objects of a type whose key contains `text` (any case), in key order after `afterKey`: scans the type's rows. */
  async search(
    organizationId: number,
    type: ObjectType,
    text: string,
    limit: number,
    afterKey?: string,
  ): Promise<StoredObject[]> {
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = await this.db.query(
      `SELECT object_type, primary_key, first_seen, last_seen, data FROM object
       WHERE organization_id = $1 AND object_type = $2 AND primary_key ILIKE $3
         AND ($4::text IS NULL OR primary_key > $4)
       ORDER BY primary_key LIMIT $5`,
      [organizationId, type, pattern, afterKey ?? null, limit],
    );
    return rows.map(toStored);
  }

  /** Which of `keys` are objects of the organization, and of which type (the primary key, for each type). */
  private async typesOf(organizationId: number, keys: string[]): Promise<Record<string, ObjectType>> {
    if (keys.length === 0) return {};
    const rows: Array<{ primary_key: string; object_type: ObjectType }> = await this.db.query(
      `SELECT primary_key, object_type FROM object
       WHERE organization_id = $1 AND object_type = ANY($2::text[]) AND primary_key = ANY($3::text[])`,
      [organizationId, OBJECT_TYPES, [...new Set(keys)]],
    );
    return Object.fromEntries(rows.map((r) => [r.primary_key, r.object_type]));
  }
}
