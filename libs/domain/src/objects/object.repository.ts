import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { OBJECT_KEY_FIELDS, ObjectType } from './object-keys';
import { ValidObject } from './object-types';

/** An object as the API shows it. */
export interface StoredObject {
  object_type: ObjectType;
  primary_key: string;
  first_seen: Date;
  last_seen: Date;
  [field: string]: unknown;
}

/** The task that produced objects: each gets an ObjectTask record. */
export interface Producer {
  task_id: string;
  plugin_id: string;
  input_object: string;
}

export interface ObjectTaskRecord {
  id: string;
  /** Null once retention deleted the task (its plugin and input stay). */
  task_id: string | null;
  plugin_id: string;
  input_object: string;
  output_type: ObjectType;
  output_object: string;
  created_at: Date;
}

export interface ObjectTaskFilters {
  task_id?: string;
  plugin_id?: string;
  input_object?: string;
  output_object?: string;
}

const OBJECT_COLUMNS = `object_type, primary_key, first_seen, last_seen, data`;

/** An object row as the API and plugins see it: key fields, data, then first/last seen. */
export function toStored(row: {
  object_type: ObjectType;
  primary_key: string;
  first_seen: Date | string;
  last_seen: Date | string;
  data: Record<string, unknown>;
}): StoredObject {
  return {
    object_type: row.object_type,
    primary_key: row.primary_key,
    ...row.data,
    first_seen: new Date(row.first_seen),
    last_seen: new Date(row.last_seen),
  };
}

/**
 * The object store: set-based upserts by natural key (one statement per batch, whatever its
 * size), reads scoped by organization, and the ObjectTask records. Indexes: see the Objects migration.
 */
@Injectable()
export class ObjectRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Creates or updates the objects (moving `last_seen`), creates the networks they name if missing,
   * and, with a producer, records an ObjectTask per object once. One transaction.
   */
  async upsert(
    organizationId: number,
    objects: ValidObject[],
    producer?: Producer,
  ): Promise<{ created: number; updated: number; objects: StoredObject[] }> {
    // Last one wins within a batch: ON CONFLICT cannot touch a row twice in one statement.
    const unique = [...new Map(objects.map((o) => [`${o.object_type}|${o.primary_key}`, o])).values()];
    const networks = [
      ...new Set(
        unique
          .filter((o) => o.object_type !== 'network' && typeof o.data.network === 'string')
          .map((o) => String(o.data.network)),
      ),
    ].filter((name) => !unique.some((o) => o.object_type === 'network' && o.primary_key === name));
    return this.db.transaction(async (tx) => {
      if (networks.length > 0) {
        await tx.query(
          `INSERT INTO object (organization_id, object_type, primary_key, data)
           SELECT $1, 'network', name, jsonb_build_object('name', name) FROM unnest($2::text[]) AS name
           ON CONFLICT DO NOTHING`,
          [organizationId, networks],
        );
      }
      const rows: Array<Parameters<typeof toStored>[0] & { inserted: boolean }> = await tx.query(
        `INSERT INTO object (organization_id, object_type, primary_key, data)
         SELECT $1, x.object_type, x.primary_key, x.data
         FROM jsonb_to_recordset($2::jsonb) AS x(object_type text, primary_key text, data jsonb)
         ON CONFLICT (organization_id, object_type, primary_key) DO UPDATE SET data = EXCLUDED.data, last_seen = now()
         RETURNING ${OBJECT_COLUMNS}, (xmax = 0) AS inserted`,
        [organizationId, JSON.stringify(unique)],
      );
      if (producer) await this.recordProducer(tx, organizationId, unique, producer);
      const created = rows.filter((r) => r.inserted).length;
      return { created, updated: rows.length - created, objects: rows.map(toStored) };
    });
  }

  private async recordProducer(
    tx: EntityManager,
    organizationId: number,
    objects: ValidObject[],
    producer: Producer,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO object_task (organization_id, task_id, plugin_id, input_object, output_type, output_object)
       SELECT $1, $2, $3, $4, x.object_type, x.primary_key
       FROM jsonb_to_recordset($5::jsonb) AS x(object_type text, primary_key text)
       ON CONFLICT ON CONSTRAINT object_task_once DO NOTHING`,
      [
        organizationId,
        producer.task_id,
        producer.plugin_id,
        producer.input_object,
        JSON.stringify(objects.map((o) => ({ object_type: o.object_type, primary_key: o.primary_key }))),
      ],
    );
  }

  async get(organizationId: number, type: ObjectType, primaryKey: string): Promise<StoredObject | null> {
    const rows = await this.db.query(
      `SELECT ${OBJECT_COLUMNS} FROM object WHERE organization_id = $1 AND object_type = $2 AND primary_key = $3`,
      [organizationId, type, primaryKey],
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** Objects of a type in key order, filtered by exact key-field values, after a key (keyset). */
  async list(
    organizationId: number,
    type: ObjectType,
    fields: Record<string, string>,
    limit: number,
    afterKey?: string,
  ): Promise<StoredObject[]> {
    const params: unknown[] = [organizationId, type];
    const where = ['organization_id = $1', 'object_type = $2'];
    for (const [name, value] of Object.entries(fields)) {
      if (!(OBJECT_KEY_FIELDS[type] as readonly string[]).includes(name)) continue;
      params.push(name, value);
      where.push(`data->>$${params.length - 1} = $${params.length}`);
    }
    if (afterKey !== undefined) {
      params.push(afterKey);
      where.push(`primary_key > $${params.length}`);
    }
    params.push(limit);
    const rows = await this.db.query(
      `SELECT ${OBJECT_COLUMNS} FROM object WHERE ${where.join(' AND ')} ORDER BY primary_key LIMIT $${params.length}`,
      params,
    );
    return rows.map(toStored);
  }

  async delete(organizationId: number, type: ObjectType, primaryKey: string): Promise<boolean> {
    const [, count] = await this.db.query(
      `DELETE FROM object WHERE organization_id = $1 AND object_type = $2 AND primary_key = $3`,
      [organizationId, type, primaryKey],
    );
    return count > 0;
  }

  /** ObjectTask records, newest first; `organizationId` null for every organization. */
  async objectTasks(
    organizationId: number | null,
    filters: ObjectTaskFilters,
    limit: number,
    beforeId?: string,
  ): Promise<ObjectTaskRecord[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (column: string, value: unknown) => {
      params.push(value);
      where.push(`${column} = $${params.length}`);
    };
    if (organizationId !== null) add('organization_id', organizationId);
    if (filters.task_id) add('task_id', filters.task_id);
    if (filters.plugin_id) add('plugin_id', filters.plugin_id);
    if (filters.input_object) add('input_object', filters.input_object);
    if (filters.output_object) add('output_object', filters.output_object);
    if (beforeId) {
      params.push(beforeId);
      where.push(`id < $${params.length}`);
    }
    params.push(limit);
    return this.db.query(
      `SELECT id::text, task_id, plugin_id, input_object, output_type, output_object, created_at FROM object_task
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
  }
}
