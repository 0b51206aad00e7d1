import { AuditTarget, AuditTrail } from '../audit/audit-trail';
import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Caller } from '../auth/authenticated';
import {
  BUSINESS_RULES,
  consumedFile,
  findRule,
  ObjectSetRepository,
  parseObjectKey,
  Plugin,
  PluginCatalogue,
  PluginRepository,
  REPORT_TYPES,
  TaskCursor,
  TaskRepository,
  TASK_OUTPUT_STORE,
  TaskOutputFile,
  TaskOutputStore,
  TaskStatsRepository,
  TaskStatus,
  TASK_PRIORITY,
  TaskType,
  TaskView,
  TenantScope,
} from '@kat/domain';
import { TaskIntake } from '@kat/queue';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { QueryFailedError } from 'typeorm';
import { badRequest, conflict, forbidden, notFound } from '../common/errors';
import { COUNT_CAP, DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, Page } from '../common/pagination';
import {
  CreatedTasksResponse,
  CreatePluginTasksDto,
  CreateTaskDto,
  ListTasksQuery,
  PluginTaskDataDto,
  TaskFiltersDto,
  TaskLogsResponse,
  TaskStatsBucket,
  TaskStatsQuery,
  TaskStatsResponse,
} from './dto/task.dto';

const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 } as const;
/** A stats answer has at most this many buckets (41 days by the hour, 2.7 years by the day). */
const MAX_BUCKETS = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Task use cases of the API: create and queue, read, and the run / retry / cancel actions. */
@Injectable()
export class TasksService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly counts: TaskStatsRepository,
    private readonly intake: TaskIntake,
    private readonly plugins: PluginRepository,
    private readonly catalogue: PluginCatalogue,
    private readonly sets: ObjectSetRepository,
    private readonly audit: AuditTrail,
    @Inject(TASK_OUTPUT_STORE) private readonly outputs: TaskOutputStore,
  ) {}

  async create(scope: TenantScope, dto: CreateTaskDto): Promise<{ task: TaskView; created: boolean }> {
    const organizationId = requireOrganization(scope);
    const { data, inputFields } = await this.validData(dto.type, dto.data, organizationId);
    const priority = dto.priority ?? TASK_PRIORITY.request;
    // Audited in the statement that creates the task: one commit for both, and no task without its entry.
    return this.intake.submit(
      { organization_id: organizationId, type: dto.type, data, priority },
      inputFields,
      this.audit.actor(),
    );
  }

  /** Many plugin tasks at once: all valid or none created; one INSERT and one queue round trip. */
  async createPluginTasks(scope: TenantScope, dto: CreatePluginTasksDto): Promise<CreatedTasksResponse> {
    const organizationId = requireOrganization(scope);
    const pluginIds = [...new Set(dto.tasks.map((t) => t.plugin_id))];
    const plugins = new Map((await this.plugins.findByPluginIds(pluginIds)).map((p) => [p.plugin_id, p]));
    const checked = dto.tasks.map((task) => checkPluginTask(task, plugins.get(task.plugin_id)));
    const errors = checked.flatMap((check, i) => ('errors' in check ? check.errors : []).map((e) => `tasks.${i}.${e}`));
    if (errors.length > 0) throw badRequest(errors);
    const missing = await this.missingFiles(
      organizationId,
      dto.tasks.map((task) => ({ ...task, plugin: plugins.get(task.plugin_id) })),
    );
    const fileErrors = missing.flatMap((error, i) => (error ? [`tasks.${i}.${error}`] : []));
    if (fileErrors.length > 0) throw badRequest(fileErrors);
    const wanted = dto.tasks.map((task, i) => ({
      ...task,
      input_fields: (checked[i] as { fields: InputFields }).fields,
    }));
    const priority = dto.priority ?? TASK_PRIORITY.bulk;
    const { tasks, created } = await this.intake.submitPluginTasks(organizationId, wanted, priority);
    if (created.length > 0) {
      await this.audit.record(
        'task.create_bulk',
        { id: null, organization: tasks[0].organization },
        { created: created.length, asked: dto.tasks.length, plugin_ids: pluginIds, priority },
      );
    }
    return { created: created.length, results: tasks };
  }

  /**
   * For each normalizer task asked for (its input a task id), why that task's output file cannot be
   * its input: none in the organization, or of another plugin than the one it consumes. One query.
   */
  private async missingFiles(
    organizationId: number,
    wanted: Array<{ input_data: string; plugin: Plugin | null | undefined }>,
  ): Promise<Array<string | null>> {
    const consumed = wanted.map(({ plugin }) => (plugin ? consumedFile(plugin.consumes) : null));
    const ids = wanted.filter((_, i) => consumed[i] !== null).map((w) => w.input_data);
    if (ids.length === 0) return wanted.map(() => null);
    const files = new Map((await this.tasks.outputFilesOf(organizationId, ids)).map((f) => [f.task_id, f.plugin_id]));
    return wanted.map(({ input_data }, i) =>
      consumed[i] === null || files.get(input_data) === consumed[i]
        ? null
        : `input_data: task ${input_data} has no output file of plugin ${consumed[i]} in this organization`,
    );
  }

  /**
   * Tasks per hour or day (UTC) of their creation and per status, every bucket from since to until
   * (by default the 24 that end with until's) present, empty ones too: what the dashboard draws.
   */
  async stats(scope: TenantScope, query: TaskStatsQuery): Promise<TaskStatsResponse> {
    const { since: asked, until: askedUntil, bucket: askedBucket, ...filters } = query;
    const bucket = askedBucket ?? 'hour';
    const size = BUCKET_MS[bucket];
    const until = askedUntil ?? new Date();
    // By default the 24 buckets that end with the one holding `until`.
    const since = asked ?? new Date(Math.floor((until.getTime() - 1) / size) * size - 23 * size);
    if (since >= until) throw badRequest('since must be before until');
    const first = Math.floor(since.getTime() / size) * size;
    const count = Math.ceil((until.getTime() - first) / size);
    if (count > MAX_BUCKETS) throw badRequest(`since: at most ${MAX_BUCKETS} ${bucket}s before until`);
    const buckets: TaskStatsBucket[] = Array.from({ length: count }, (_, i) => ({
      start: new Date(first + i * size),
      PENDING: 0,
      RUNNING: 0,
      COMPLETED: 0,
      FAILED: 0,
      CANCELLED: 0,
    }));
    for (const row of await this.counts.countsPerBucket(scope, filters, bucket, since, until))
      buckets[Math.round((new Date(row.start).getTime() - first) / size)][row.status] = row.n;
    return { buckets };
  }

  async list(scope: TenantScope, query: ListTasksQuery): Promise<Page<TaskView>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = query.cursor
      ? decodeCursor<{ c: string; i: string }>(
          query.cursor,
          (v) => typeof v.c === 'string' && !Number.isNaN(Date.parse(v.c)) && UUID.test(String(v.i)),
        )
      : undefined;
    const position: TaskCursor | undefined = after && { created_at: after.c, id: after.i };
    const { tasks, next, count } = await this.tasks.list(scope, query, limit, position, COUNT_CAP);
    return { results: tasks, next_cursor: next && encodeCursor({ c: next.created_at, i: next.id }), count };
  }

  async get(scope: TenantScope, id: string): Promise<TaskView> {
    const task = await this.tasks.findById(id, scope);
    if (!task) throw notFound(`task ${id} does not exist`);
    return task;
  }

  /** The admin's "Run task": a PENDING task on its queue now, past its turn, back-off and rate limit. */
  async run(scope: TenantScope, id: string): Promise<TaskView> {
    const run = await this.intake.runNow(id, scope);
    if (!run) throw await this.refusal(scope, id, 'run', 'PENDING');
    await this.audit.record('task.run', run.task);
    if (run.queued === 0) {
      throw new ServiceUnavailableException([
        'the queue is unreachable; the task stays PENDING and is queued when it is back',
      ]);
    }
    return run.task;
  }

  async retry(scope: TenantScope, id: string): Promise<TaskView> {
    let task: TaskView | null;
    try {
      task = await this.intake.retry(id, scope);
    } catch (error) {
      if (error instanceof QueryFailedError && (error as { code?: string }).code === '23505') {
        throw conflict(`task ${id} cannot be retried: another task of this plugin on this input is active`);
      }
      throw error;
    }
    if (!task) throw await this.refusal(scope, id, 'retried', 'FAILED or CANCELLED');
    await this.audit.record('task.retry', task);
    return task;
  }

  /** Bulk retry: every FAILED or CANCELLED task matching the filters, in one statement, audited once. */
  async retryMatching(scope: TenantScope, filters: TaskFiltersDto): Promise<{ count: number }> {
    let count: number;
    try {
      count = await this.intake.retryMatching(scope, filters);
    } catch (error) {
      // A task of the same plugin and input made active between the choice and the update.
      if (error instanceof QueryFailedError && (error as { code?: string }).code === '23505')
        throw conflict('a matching task became active meanwhile: nothing was retried; try again');
      throw error;
    }
    await this.audit.record('task.retry_bulk', bulkTarget(scope), { filters, count });
    return { count };
  }

  /**
   * How many tasks match the filters and are in one of `statuses` (each counted up to COUNT_CAP):
   * what a bulk action would change, shown before it is confirmed.
   */
  async countMatching(scope: TenantScope, filters: TaskFiltersDto, statuses: TaskStatus[]): Promise<number> {
    const wanted = filters.status ? statuses.filter((s) => s === filters.status) : statuses;
    const counts = await Promise.all(
      wanted.map((status) => this.tasks.count(scope, { ...filters, status }, COUNT_CAP)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Bulk cancel: every PENDING or RUNNING task matching the filters, in one statement, audited once. */
  async cancelMatching(scope: TenantScope, filters: TaskFiltersDto): Promise<{ count: number }> {
    const count = await this.tasks.cancelMatching(scope, filters);
    await this.audit.record('task.cancel_bulk', bulkTarget(scope), { filters, count });
    return { count };
  }

  async cancel(scope: TenantScope, id: string): Promise<TaskView> {
    const task = await this.tasks.cancel(id, scope);
    if (!task) throw await this.refusal(scope, id, 'cancelled', 'PENDING or RUNNING');
    await this.audit.record('task.cancel', task);
    return task;
  }

  /**
   * A task's output file. A plugin token reads only its own input's, and only if its plugin is a
   * normalizer of that file's plugin (a task of any other plugin might be given a task id as input).
   */
  async outputFile(caller: Caller, id: string): Promise<TaskOutputFile> {
    if (caller.plugin) {
      const reader = await this.plugins.findByPluginId(caller.plugin.pluginId);
      const [file] =
        caller.plugin.inputObject === id ? await this.tasks.outputFilesOf(requireOrganization(caller.scope), [id]) : [];
      if (!file || !reader || consumedFile(reader.consumes) !== file.plugin_id)
        throw forbidden(`a plugin token may only read the output file its task normalizes`);
    }
    const file = await this.outputs.read(id, caller.scope);
    if (!file) throw notFound(`task ${id} has no output file`);
    return file;
  }

  async logs(scope: TenantScope, id: string): Promise<TaskLogsResponse> {
    await this.get(scope, id);
    const log = await this.tasks.findLog(id);
    const stdout_truncated = log?.stdout_truncated ?? false;
    const stderr_truncated = log?.stderr_truncated ?? false;
    return {
      stdout: log?.stdout ?? '',
      stderr: log?.stderr ?? '',
      truncated: stdout_truncated || stderr_truncated,
      stdout_truncated,
      stderr_truncated,
    };
  }

  /** 404 when the task is not visible, else 409 saying which statuses the action needs. */
  private async refusal(scope: TenantScope, id: string, action: string, allowed: string): Promise<Error> {
    const task = await this.get(scope, id);
    return conflict(`task ${id} is ${task.status}; only a ${allowed} task can be ${action}`);
  }

  /** A task's data, checked for its type; a plugin task's input key fields besides (for its rate key). */
  private async validData(
    type: TaskType,
    raw: Record<string, unknown>,
    organizationId: number,
  ): Promise<{ data: Record<string, unknown>; inputFields?: InputFields }> {
    switch (type) {
      case TaskType.PLUGIN:
        return this.validPluginData(raw, organizationId);
      case TaskType.BUSINESS_RULE:
        return { data: { rule_id: validRuleId(raw) } };
      case TaskType.REPORT:
        return { data: await this.validReportData(raw, organizationId) };
    }
  }

  private async validReportData(
    raw: Record<string, unknown>,
    organizationId: number,
  ): Promise<Record<string, unknown>> {
    const unknown = Object.keys(raw).filter((key) => !['report_type', 'object_set_id'].includes(key));
    if (unknown.length) throw badRequest(unknown.map((key) => `data.property ${key} should not exist`));
    if (!REPORT_TYPES.includes(raw.report_type as never)) {
      throw badRequest(
        `data.report_type: unknown report type ${JSON.stringify(raw.report_type ?? null)}; ` +
          `the types are ${REPORT_TYPES.join(', ')}`,
      );
    }
    const setId = raw.object_set_id ?? null;
    if (setId !== null) {
      if (typeof setId !== 'string' || !UUID.test(setId)) throw badRequest('data.object_set_id must be a UUID or null');
      if (!(await this.sets.existsInOrganization(organizationId, setId))) {
        throw badRequest(`data.object_set_id: object set ${setId} does not exist`);
      }
    }
    return { report_type: raw.report_type, object_set_id: setId };
  }

  private async validPluginData(
    raw: Record<string, unknown>,
    organizationId: number,
  ): Promise<{ data: Record<string, unknown>; inputFields: InputFields }> {
    const data = plainToInstance(PluginTaskDataDto, raw);
    const errors = await validate(data, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      throw badRequest(errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `data.${m}`)));
    }
    const plugin = await this.catalogue.find(data.plugin_id);
    const check = checkPluginTask(data, plugin);
    if ('errors' in check) throw badRequest(check.errors.map((e) => `data.${e}`));
    const fileErrors = await this.missingFiles(organizationId, [{ ...data, plugin }]);
    if (fileErrors[0]) throw badRequest(`data.${fileErrors[0]}`);
    return { data: { plugin_id: data.plugin_id, input_data: data.input_data }, inputFields: check.fields };
  }
}

type InputFields = Record<string, string>;

/**
 * A plugin task's (well-formed) data checked against its plugin: the input's key fields, or why
 * it cannot be run (an unknown or disabled plugin, or an input it does not consume).
 */
function checkPluginTask(
  data: PluginTaskDataDto,
  plugin: Plugin | null | undefined,
): { fields: InputFields } | { errors: string[] } {
  if (!plugin) return { errors: [`plugin_id: unknown plugin ${data.plugin_id}`] };
  if (!plugin.enabled) return { errors: [`plugin_id: plugin ${data.plugin_id} is disabled`] };
  const file = consumedFile(plugin.consumes);
  if (file !== null) {
    // A normalizer's input is the task whose output file it reads.
    if (UUID.test(data.input_data)) return { fields: { task_id: data.input_data.toLowerCase() } };
    return { errors: [`input_data: ${data.plugin_id} consumes file:${file}: the id of a task of ${file}`] };
  }
  const input = parseObjectKey(data.input_data, plugin.consumes);
  if ('error' in input)
    return {
      errors: [
        `input_data: ${data.plugin_id} consumes ${plugin.consumes.join(', ')}, ` +
          `and ${JSON.stringify(data.input_data)} is none: ${input.error}`,
      ],
    };
  return { fields: input.fields };
}

/** `data.rule_id` of a business_rule task: a rule of the catalogue, or "all". */
export function validRuleId(raw: Record<string, unknown>): string {
  const unknown = Object.keys(raw).filter((key) => key !== 'rule_id');
  if (unknown.length) throw badRequest(unknown.map((key) => `data.property ${key} should not exist`));
  const ruleId = raw.rule_id;
  if (ruleId === 'all' || (typeof ruleId === 'string' && findRule(ruleId))) return ruleId as string;
  throw badRequest(
    `data.rule_id: unknown business rule ${JSON.stringify(ruleId ?? null)}; ` +
      `the rules are all, ${BUSINESS_RULES.map((r) => r.rule_id).join(', ')}`,
  );
}

/** What a bulk action's audit entry names: the organization acted in (none: an admin's, in all). */
function bulkTarget(scope: TenantScope & { organizationCode?: string | null }): AuditTarget {
  return { id: null, organization: scope.organizationCode ?? null };
}

/** The organization a write acts for: the token's own, or an admin's `?organization=`. */
export function requireOrganization(scope: TenantScope): number {
  if (scope.organizationId === null)
    throw badRequest('organization: an admin token must name one with ?organization=<code>');
  return scope.organizationId;
}
