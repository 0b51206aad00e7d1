import { Injectable } from '@nestjs/common';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { DataSource, Repository } from 'typeorm';
import { OBJECT_KEY_FIELDS, ObjectType } from '../objects/object-keys';
import { OBJECT_CATALOGUE } from '../objects/object-types';
import { StoredObject } from '../objects/object.repository';
import { filterToSql, parseFilter } from './object-filter';
import { ObjectSet } from './object-set.entity';

/** Field names a filter on objects of `type` may use: every field of the type's schema. */
export function filterFields(type: ObjectType): string[] {
  const schema = validationMetadatasToSchemas()[OBJECT_CATALOGUE[type].schema.name];
  return [...new Set([...OBJECT_KEY_FIELDS[type], ...Object.keys(schema?.properties ?? {})])];
}

/** SQL condition selecting the members of `set` among rows `o` of the object table; params appended. */
export function membershipSql(
  set: Pick<ObjectSet, 'object_type' | 'query' | 'object_ids'>,
  params: unknown[],
  alias = 'o',
): string {
  if (set.query !== null && set.query.trim() === '') return 'true';
  const filter =
    set.query === null
      ? null
      : filterToSql(parseFilter(set.query, filterFields(set.object_type as ObjectType)), params, alias);
  params.push(set.object_ids);
  const listed = `${alias}.primary_key = ANY($${params.length}::text[])`;
  return filter === null ? listed : `(${filter} OR ${listed})`;
}

/** What a new object set is made of; its organization is given apart. */
export type ObjectSetFields = Pick<ObjectSet, 'name' | 'object_type' | 'query' | 'object_ids'>;

/**
 * Object sets: saved selections of one organization's objects (what schedules and reports scan).
 * A name is unique per organization (object_set_name_unique): a write that repeats one fails with 23505.
 */
@Injectable()
export class ObjectSetRepository {
  constructor(private readonly db: DataSource) {}

  /** The organization's set with that id; null when it has none (another organization's is as good as none). */
  findInOrganization(organizationId: number, id: string): Promise<ObjectSet | null> {
    return this.sets.findOneBy({ id, organization_id: organizationId });
  }

  /** The organization's sets by name (served by object_set_name_unique). */
  listInOrganization(organizationId: number): Promise<ObjectSet[]> {
    return this.sets.find({ where: { organization_id: organizationId }, order: { name: 'ASC' } });
  }

  /** Whether the organization has a set with that id. Per report task created: object_set's primary key. */
  existsInOrganization(organizationId: number, id: string): Promise<boolean> {
    return this.sets.existsBy({ id, organization_id: organizationId });
  }

  /** Inserts a set of the organization; returns its id. */
  async create(organizationId: number, set: ObjectSetFields): Promise<string> {
    const { identifiers } = await this.sets.insert({ ...set, organization_id: organizationId });
    return identifiers[0].id as string;
  }

  /** Changes a set's fields, by primary key. */
  async update(id: string, change: Partial<ObjectSetFields>): Promise<void> {
    await this.sets.update({ id }, change);
  }

  /** Deletes a set, by primary key (its schedules go with it). */
  async delete(id: string): Promise<void> {
    await this.sets.delete({ id });
  }

  /** The set's members in key order, after a key (keyset): served by object's primary key. */
  async members(set: ObjectSet, limit: number, afterKey?: string): Promise<StoredObject[]> {
    const params: unknown[] = [set.organization_id, set.object_type];
    const where = membershipSql(set, params);
    params.push(afterKey ?? null, limit);
    const rows = await this.db.query(
      `SELECT o.object_type, o.primary_key, o.first_seen, o.last_seen, o.data FROM object o
       WHERE o.organization_id = $1 AND o.object_type = $2 AND ${where}
         AND ($${params.length - 1}::text IS NULL OR o.primary_key > $${params.length - 1})
       ORDER BY o.primary_key LIMIT $${params.length}`,
      params,
    );
    return rows.map((r: { data: object } & StoredObject) => ({
      object_type: r.object_type,
      primary_key: r.primary_key,
      ...r.data,
      first_seen: r.first_seen,
      last_seen: r.last_seen,
    }));
  }

  private get sets(): Repository<ObjectSet> {
    return this.db.getRepository(ObjectSet);
  }
}
