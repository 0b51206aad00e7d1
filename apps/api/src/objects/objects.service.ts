import { Injectable } from '@nestjs/common';
import {
  isObjectType,
  OBJECT_KEY_FIELDS,
  OBJECT_TYPES,
  ObjectRepository,
  ObjectTaskFilters,
  ObjectTaskRecord,
  ObjectType,
  Producer,
  StoredObject,
  TaskRepository,
  TaskStatus,
  TenantScope,
  validateObjects,
} from '@kat/domain';
import { Caller } from '../auth/authenticated';
import { badRequest, conflict, forbidden, notFound } from '../common/errors';
import { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, MAX_PAGE_SIZE, Page } from '../common/pagination';
import { requireOrganization } from '../tasks/tasks.service';

export const MAX_OBJECTS_PER_REQUEST = 1000;
const PAGE_PARAMS = ['limit', 'cursor', 'organization'];

/** Object ingest and reads, for users and for plugin containers acting for their task. */
@Injectable()
export class ObjectsService {
  constructor(
    private readonly objects: ObjectRepository,
    private readonly tasks: TaskRepository,
  ) {}

  objectType(type: string): ObjectType {
    if (!isObjectType(type))
      throw notFound(`object type ${type} does not exist; the types are ${OBJECT_TYPES.join(', ')}`);
    return type;
  }

  /** Validates all, then upserts all in one transaction: a bad item leaves the store as it was. */
  async ingest(
    caller: Caller,
    type: ObjectType,
    body: unknown,
    taskId?: string,
  ): Promise<{ created: number; updated: number; objects: StoredObject[] }> {
    const organizationId = requireOrganization(caller.scope);
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0) throw badRequest('the body must hold at least one object');
    if (items.length > MAX_OBJECTS_PER_REQUEST)
      throw badRequest(`at most ${MAX_OBJECTS_PER_REQUEST} objects per request, not ${items.length}`);
    const producer = await this.producer(caller, taskId);
    const result = validateObjects(type, items, Array.isArray(body));
    if ('errors' in result) throw badRequest(result.errors);
    return this.objects.upsert(organizationId, result.objects, producer);
  }

  /** The task objects are written for: the plugin token's own, or a RUNNING task of the caller's organization. */
  private async producer(caller: Caller, taskId?: string): Promise<Producer | undefined> {
    if (caller.plugin && taskId !== caller.plugin.taskId) {
      throw forbidden(`a plugin token may only write objects with task_id=${caller.plugin.taskId}`);
    }
    if (taskId === undefined) return undefined;
    const task = await this.tasks.findById(taskId, caller.scope);
    if (!task) throw notFound(`task_id: task ${taskId} does not exist`);
    if (task.status !== TaskStatus.RUNNING)
      throw conflict(`task_id: task ${taskId} is ${task.status}; objects can be added only to a RUNNING task`);
    if (task.type !== 'plugin') throw conflict(`task_id: task ${taskId} is a ${task.type} task, not a plugin task`);
    return { task_id: task.id, plugin_id: String(task.data.plugin_id), input_object: String(task.data.input_data) };
  }

  async get(caller: Caller, type: ObjectType, primaryKey: string): Promise<StoredObject> {
    if (caller.plugin && primaryKey !== caller.plugin.inputObject) {
      throw forbidden(`a plugin token may only read its task's input object ${caller.plugin.inputObject}`);
    }
    const object = await this.objects.get(requireOrganization(caller.scope), type, primaryKey);
    if (!object) throw notFound(`${type} ${primaryKey} does not exist`);
    return object;
  }

  async list(scope: TenantScope, type: ObjectType, query: Record<string, string>): Promise<Page<StoredObject>> {
    const keyFields = OBJECT_KEY_FIELDS[type] as readonly string[];
    const unknown = Object.keys(query).filter((name) => !keyFields.includes(name) && !PAGE_PARAMS.includes(name));
    if (unknown.length > 0)
      throw badRequest(`${unknown.join(', ')}: not a filter of ${type}; its filters are ${keyFields.join(', ')}`);
    const limit = pageSize(query.limit);
    const after = query.cursor
      ? decodeCursor<{ k: string }>(query.cursor, (v) => typeof v.k === 'string').k
      : undefined;
    const filters = Object.fromEntries(Object.entries(query).filter(([name]) => keyFields.includes(name)));
    const rows = await this.objects.list(requireOrganization(scope), type, filters, limit + 1, after);
    const results = rows.slice(0, limit);
    const next_cursor = rows.length > limit ? encodeCursor({ k: results[results.length - 1].primary_key }) : null;
    return { results, next_cursor, count: results.length };
  }

  async delete(scope: TenantScope, type: ObjectType, primaryKey: string): Promise<void> {
    if (!(await this.objects.delete(requireOrganization(scope), type, primaryKey)))
      throw notFound(`${type} ${primaryKey} does not exist`);
  }

  async objectTasks(
    scope: TenantScope,
    filters: ObjectTaskFilters & { limit?: string; cursor?: string },
  ): Promise<Page<ObjectTaskRecord>> {
    const limit = pageSize(filters.limit);
    const before = filters.cursor
      ? decodeCursor<{ i: string }>(filters.cursor, (v) => /^\d+$/.test(String(v.i))).i
      : undefined;
    const rows = await this.objects.objectTasks(scope.organizationId, filters, limit + 1, before);
    const results = rows.slice(0, limit);
    const next_cursor = rows.length > limit ? encodeCursor({ i: results[results.length - 1].id }) : null;
    return { results, next_cursor, count: results.length };
  }
}

function pageSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw badRequest(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return limit;
}
