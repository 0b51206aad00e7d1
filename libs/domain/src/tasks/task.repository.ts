import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditActor } from '../audit/audit-log.repository';
import { TenantScope } from '../auth/tenant-scope';
import { parseObjectKey } from '../objects/object-keys';
import { StoredObject, toStored } from '../objects/object.repository';
import { Plugin } from '../plugins/plugin.entity';
import { SealedPluginSetting } from '../plugins/plugin-setting.repository';
import { PreparedStatement } from '../database/prepared-statement';
import { MicroBatcher } from './micro-batcher';
import { CreatedTask, insertFollowUpTasks, insertScheduledTasks, ScheduledTaskOptions } from './scheduled-task-inserts';
import { TaskFilters, taskFilterSql } from './task-filters';
import { TASK_PRIORITY } from './task-admission.repository';
import { Task, TaskData, TaskLog } from './task.entity';
import { TaskStatus, TaskType } from './task-state';

/**
 * Why a PENDING task has not started: `worker` (on the queue, for the next free worker),
 * `run_after` (a retry's back-off), `rate_limit` (its key has no room now) or `turn` (tasks of
 * higher priority, or other organizations' turns, come first).
 */
export type WaitingFor = 'worker' | 'run_after' | 'rate_limit' | 'turn';

/** A task as the API shows it: the row plus its organization's code and, while PENDING, what it waits for. */
export type TaskView = Omit<Task, 'organization_id' | 'heartbeat_at' | 'plugin_id' | 'input_object' | 'admitted_at'> & {
  organization: string;
  waiting_for: WaitingFor | null;
};

export interface NewTask {
  organization_id: number;
  type: TaskType;
  data: TaskData;
  /** Default: TASK_PRIORITY.request. */
  priority?: number;
}

/** A plugin task asked for: `input_fields` are the input's key fields, for the plugin's rate key. */
export interface WantedPluginTask {
  plugin_id: string;
  input_data: string;
  input_fields: Record<string, string>;
}

/** A plugin task one request wants, with its organization and priority, and who to audit its creation as. */
interface WantedTaskRow extends WantedPluginTask, Partial<AuditActor> {
  organization_id: number;
  priority: number;
}

/** Where a page of tasks ends: `created_at` to the microsecond, as stored (a Date would lose the tie-break). */
export interface TaskCursor {
  created_at: string;
  id: string;
}

/** Keyset position among admitted tasks, oldest first. */
export interface AdmittedCursor {
  admitted_at: Date;
  id: string;
}

/**
 * What a worker holds while it runs a task: the attempt number identifies its claim. A plugin
 * task comes with what running it needs, read in the claim's own round trip: its plugin (null if
 * unknown), the stored objects its input key names among the types the plugin consumes, and its
 * organization's own settings of the plugin, sealed (PluginSettingRepository.open opens them).
 */
export interface ClaimedTask extends Task {
  organization: string;
  plugin: Plugin | null;
  input_objects: StoredObject[];
  plugin_settings: SealedPluginSetting[];
}

/** One attempt at a task, as a worker runs it. */
export interface TaskRun {
  id: string;
  attempt: number;
}

/** A worker's final word on its attempt, with the plugin's captured output if it is to be kept. */
export interface TaskEnding {
  id: string;
  attempt: number;
  status: TaskStatus.COMPLETED | TaskStatus.FAILED;
  data: TaskData;
  log?: Omit<TaskLog, 'task_id' | 'updated_at'>;
  /** A failure of the plugin's own (not of the worker): retried after a back-off if its plugin says so. */
  retriable?: boolean;
}

/**
 * An ended attempt: `status` PENDING when a failure is retried after a back-off; `has_outputs`
 * tells whether it recorded any ObjectTask (what chaining looks at).
 */
export interface EndedTask {
  status: TaskStatus;
  has_outputs: boolean;
}

/** Claims and endings in flight at once; more wait and go out together as the next statement. */
const LIFECYCLE_BATCHING = { maxBatch: 500, maxInFlight: 2 };

/** Rate limits' windows as the task JSON reports them (the admission's own may be shortened in tests). */
const SHOWN_RATE_WINDOW_SECONDS = 60;

const VIEW_COLUMNS = `t.id, o.code AS organization, t.type, t.status, t.data, t.created_at, t.started_at,
  t.ended_at, t.attempts, t.schedule_id, t.parent_task_id, t.priority, t.run_after, t.rate_key,
  CASE WHEN t.status <> 'PENDING' THEN NULL
       WHEN t.admitted_at IS NOT NULL THEN 'worker'
       WHEN t.run_after > now() THEN 'run_after'
       WHEN t.rate_key IS NOT NULL AND (
         SELECT kat_rate_room(t.rate_key, (p.rate_limit->>'concurrency')::int, (p.rate_limit->>'per_minute')::int,
                              ${SHOWN_RATE_WINDOW_SECONDS})
         FROM plugin p WHERE p.plugin_id = t.plugin_id) <= 0 THEN 'rate_limit'
       ELSE 'turn' END AS waiting_for`;

/** Plugin tasks wait for admission; the in-process types (rules, reports) are admitted as they are made. */
const ADMITTED_AT_ONCE = `CASE WHEN type = 'plugin' THEN NULL ELSE now() END`;
/** A user's cancel, and a user's retry (same id, attempts kept; they grow on the next claim). */
const CANCELLED = `status = 'CANCELLED', ended_at = now(), data = data || '{"error": "cancelled by a user"}'::jsonb`;
const RETRIED = `status = 'PENDING', started_at = NULL, ended_at = NULL, heartbeat_at = NULL, run_after = NULL,
  admitted_at = ${ADMITTED_AT_ONCE}, data = data - 'error' - 'traceback'`;

/** The task's own columns as a claim returns them, named: a prepared statement's columns may not change. */
const CLAIMED_TASK_COLUMNS = `t.id, t.organization_id, t.type, t.status, t.data, t.plugin_id, t.input_object,
  t.created_at, t.started_at, t.ended_at, t.heartbeat_at, t.attempts, t.schedule_id, t.parent_task_id, t.priority,
  t.run_after, t.rate_key, t.admitted_at`;

/**
 * A task.create audit entry for each task just inserted (`t`) that a caller (`w`, with the actor's
 * columns) asked to be audited: in the statement that creates the task, so the two commit together.
 */
const AUDIT_CREATED = (t: string, w: string) => `
  INSERT INTO audit_entry (organization_id, organization_code, actor_token_id, actor, via, action, target_type,
                           target_id, changes)
  SELECT ${t}.organization_id, (SELECT code FROM organization WHERE id = ${t}.organization_id),
         ${w}.actor_token_id, ${w}.actor, ${w}.via, 'task.create', 'task', ${t}.id::text,
         jsonb_build_object('type', ${t}.type, 'data', ${t}.data, 'priority', ${t}.priority)`;

/** The hot statements of the lifecycle, planned once per connection (PreparedStatement). */
const CREATE_PLUGIN_TASKS = new PreparedStatement(
  'kat_create_plugin_tasks',
  `WITH wanted AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb)
             AS w(organization_id int, priority smallint, plugin_id text, input_data text, input_fields jsonb,
                  actor_token_id int, actor text, via text)),
         inserted AS (
           INSERT INTO task (organization_id, type, data, priority, rate_key)
           SELECT w.organization_id, 'plugin', jsonb_build_object('plugin_id', w.plugin_id, 'input_data', w.input_data),
                  w.priority,
                  CASE WHEN p.rate_limit IS NOT NULL THEN kat_rate_key(p.rate_limit->>'key', w.input_fields) END
           FROM wanted w LEFT JOIN plugin p ON p.plugin_id = w.plugin_id
           -- One order for every request: two requests sharing inputs wait for each other, never deadlock.
           ORDER BY w.organization_id, w.plugin_id, w.input_data
           ON CONFLICT (organization_id, plugin_id, input_object)
             WHERE type = 'plugin' AND status IN ('PENDING', 'RUNNING') DO NOTHING
           RETURNING *),
         audited AS (${AUDIT_CREATED('t', 'w')}
           FROM inserted t JOIN wanted w ON w.organization_id = t.organization_id AND w.plugin_id = t.plugin_id
                                        AND w.input_data = t.input_object
           WHERE w.actor IS NOT NULL)
         SELECT ${VIEW_COLUMNS}, t.organization_id, true AS inserted
         FROM inserted t JOIN organization o ON o.id = t.organization_id
         UNION ALL
         SELECT ${VIEW_COLUMNS}, t.organization_id, false FROM wanted w
         JOIN task t ON t.organization_id = w.organization_id AND t.plugin_id = w.plugin_id
                    AND t.input_object = w.input_data AND t.type = 'plugin' AND t.status IN ('PENDING', 'RUNNING')
         JOIN organization o ON o.id = t.organization_id`,
);
const CLAIM = new PreparedStatement(
  'kat_claim_tasks',
  `WITH t AS (
         UPDATE task SET status = 'RUNNING', started_at = now(), ended_at = NULL, heartbeat_at = now(),
                         attempts = attempts + 1
         WHERE id = ANY($1::uuid[]) AND status = 'PENDING' AND admitted_at IS NOT NULL RETURNING *),
       started AS (INSERT INTO rate_key_start (rate_key) SELECT rate_key FROM t WHERE rate_key IS NOT NULL)
       SELECT ${CLAIMED_TASK_COLUMNS}, o.code AS organization, to_jsonb(p) AS plugin,
         coalesce((SELECT jsonb_agg(jsonb_build_object('object_type', ob.object_type, 'primary_key', ob.primary_key,
                                    'first_seen', ob.first_seen, 'last_seen', ob.last_seen, 'data', ob.data))
                   FROM object ob
                   WHERE ob.organization_id = t.organization_id AND ob.object_type = ANY(p.consumes)
                     AND ob.primary_key = t.input_object), '[]') AS input_objects,
         coalesce((SELECT jsonb_agg(jsonb_build_object('name', s.name, 'key_id', s.key_id,
                                    'value_encrypted', encode(s.value_encrypted, 'hex')))
                   FROM plugin_setting s -- the primary key's prefix
                   WHERE s.organization_id = t.organization_id
                     AND s.plugin_id = t.plugin_id), '[]') AS plugin_settings
       FROM t JOIN organization o ON o.id = t.organization_id
       LEFT JOIN plugin p ON p.plugin_id = t.plugin_id -- only plugin tasks have a plugin_id`,
);
const FINISH = new PreparedStatement(
  'kat_finish_tasks',
  `WITH ending AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS e(id uuid, attempt int, status text, data jsonb, log jsonb, retriable bool)
         ORDER BY id),
       policy AS (
         -- Scalar subqueries, not joins: each ending has exactly one task and at most one plugin,
         -- and a condition lost here would raise an error rather than pick some other row's policy.
         SELECT e.*,
           (SELECT p.retry FROM task t JOIN plugin p ON p.plugin_id = t.plugin_id WHERE t.id = e.id) AS retry,
           (SELECT coalesce(jsonb_array_length(t.data->'errors'), 0) FROM task t WHERE t.id = e.id) AS failures
         FROM ending e),
       decided AS (
         -- A plugin with a retry policy keeps every failure in data.errors; while failures are fewer
         -- than max_attempts the task waits again, for backoff_seconds · 2^(failures so far) ± 25 %.
         SELECT e.*, e.retry IS NOT NULL AND e.status = 'FAILED' AS kept,
           (e.retry IS NOT NULL AND e.status = 'FAILED' AND coalesce(e.retriable, false)
            AND e.failures + 1 < (e.retry->>'max_attempts')::int) AS again,
           (e.retry->>'backoff_seconds')::float8 * 2 ^ e.failures AS backoff
         FROM policy e),
       ended AS (
         UPDATE task t SET
           status = CASE WHEN d.again THEN 'PENDING' ELSE d.status END,
           ended_at = CASE WHEN d.again THEN NULL ELSE now() END,
           started_at = CASE WHEN d.again THEN NULL ELSE t.started_at END,
           heartbeat_at = CASE WHEN d.again THEN NULL ELSE t.heartbeat_at END,
           admitted_at = CASE WHEN d.again THEN NULL ELSE t.admitted_at END,
           run_after = CASE WHEN d.again THEN now() + make_interval(secs => d.backoff * (0.75 + random() / 2))
                            ELSE t.run_after END,
           data = CASE WHEN d.again THEN t.data - 'error' - 'traceback' ELSE t.data || d.data END
             || CASE WHEN d.kept THEN jsonb_build_object('errors', coalesce(t.data->'errors', '[]')
                  || jsonb_build_array(jsonb_build_object('attempt', t.attempts, 'at', now(),
                       'error', d.data->'error', 'traceback', d.data->'traceback'))) ELSE '{}' END
         FROM decided d WHERE t.id = d.id AND t.status = 'RUNNING' AND t.attempts = d.attempt
         RETURNING t.id, t.attempts, t.status),
       logged AS (
         -- The log of the attempt that ran, even if the task was cancelled meanwhile; never a stale attempt's.
         INSERT INTO task_log (task_id, stdout, stderr, stdout_truncated, stderr_truncated)
         SELECT e.id, e.log->>'stdout', e.log->>'stderr',
                (e.log->>'stdout_truncated')::bool, (e.log->>'stderr_truncated')::bool
         FROM ending e JOIN task t ON t.id = e.id AND t.attempts = e.attempt
         WHERE e.log IS NOT NULL
         ON CONFLICT (task_id) DO UPDATE SET stdout = excluded.stdout, stderr = excluded.stderr,
           stdout_truncated = excluded.stdout_truncated, stderr_truncated = excluded.stderr_truncated,
           updated_at = now())
       SELECT id, attempts, status, EXISTS (SELECT 1 FROM object_task ot WHERE ot.task_id = ended.id)
                                    OR EXISTS (SELECT 1 FROM task_output f WHERE f.task_id = ended.id) AS has_outputs
       FROM ended`,
);

/** An input object as a claim's JSON gives it. */
type StoredInput = Parameters<typeof toStored>[0];

/**
 * Every statement of the task lifecycle. Each write is conditional on the status it expects (and,
 * for a worker, on its attempt), so a redelivered job, a second replica or a late worker changes
 * nothing; the database's transition trigger backs this up. Indexes: see the Spine migration.
 */
@Injectable()
export class TaskRepository {
  private readonly claims = new MicroBatcher((ids: string[]) => this.claimMany(ids), LIFECYCLE_BATCHING);
  private readonly endings = new MicroBatcher((endings: TaskEnding[]) => this.finishMany(endings), LIFECYCLE_BATCHING);
  /** Concurrent requests' single creates: one statement and one commit for those made at once. */
  private readonly pluginCreates = new MicroBatcher(
    (rows: WantedTaskRow[]) => this.createPluginTaskRows(rows),
    LIFECYCLE_BATCHING,
  );

  constructor(private readonly db: DataSource) {}

  /**
   * Inserts a PENDING task, unless an active plugin task for the same (organization, plugin, input)
   * exists: then that one is returned with `created` false (task_one_active_plugin_task). With
   * `auditAs`, a task.create audit entry is written in the same statement for a task it creates.
   */
  async create(
    task: NewTask,
    inputFields: Record<string, string> = {},
    auditAs?: AuditActor,
  ): Promise<{ task: TaskView; created: boolean }> {
    if (task.type === TaskType.PLUGIN) {
      const wanted = {
        plugin_id: String(task.data.plugin_id),
        input_data: String(task.data.input_data),
        input_fields: inputFields,
      };
      const priority = task.priority ?? TASK_PRIORITY.request;
      return this.pluginCreates.submit({ ...wanted, ...auditAs, organization_id: task.organization_id, priority });
    }
    const [inserted]: TaskView[] = await this.db.query(
      `WITH t AS (INSERT INTO task (organization_id, type, data, priority, admitted_at)
                  VALUES ($1, $2, $3, $4, now()) RETURNING *),
            w AS (SELECT $5::int AS actor_token_id, $6::text AS actor, $7::text AS via),
            audited AS (${AUDIT_CREATED('t', 'w')} FROM t, w WHERE w.actor IS NOT NULL)
       SELECT ${VIEW_COLUMNS} FROM t JOIN organization o ON o.id = t.organization_id`,
      [
        task.organization_id,
        task.type,
        task.data,
        task.priority ?? TASK_PRIORITY.request,
        auditAs?.actor_token_id ?? null,
        auditAs?.actor ?? null,
        auditAs?.via ?? null,
      ],
    );
    return { task: inserted, created: true };
  }

  /**
   * Plugin tasks of one organization in one statement: each is inserted PENDING (waiting for
   * admission, its plugin's rate key resolved for its input) unless an active task for its
   * (plugin, input) exists, which is then returned instead.
   * Results are in the order of `tasks`; a pair given twice gets the same task.
   */
  async createPluginTasks(
    organizationId: number,
    tasks: ReadonlyArray<WantedPluginTask>,
    priority: number,
  ): Promise<{ tasks: TaskView[]; created: TaskView[] }> {
    const results = await this.createPluginTaskRows(
      tasks.map((task) => ({ ...task, organization_id: organizationId, priority })),
    );
    return { tasks: results.map((r) => r.task), created: results.filter((r) => r.created).map((r) => r.task) };
  }

  /**
   * Plugin tasks of any organizations and priorities in one statement (the single creates of many
   * requests, or one bulk request). Results in the order of `rows`; a task wanted twice is the
   * same task, `created` only for the first row that wanted it.
   */
  private async createPluginTaskRows(
    rows: ReadonlyArray<WantedTaskRow>,
  ): Promise<Array<{ task: TaskView; created: boolean }>> {
    const key = (organizationId: unknown, pluginId: unknown, input: unknown) =>
      `${organizationId}\u0000${pluginId}\u0000${input}`;
    const byKey = new Map<string, { task: TaskView; inserted: boolean }>();
    // The first row that wants a task is the one it is created (and audited) for.
    const firsts = new Map<string, WantedTaskRow>();
    for (const row of rows) {
      const k = key(row.organization_id, row.plugin_id, row.input_data);
      if (!firsts.has(k)) firsts.set(k, row);
    }
    let missing = [...firsts.values()];
    while (missing.length > 0) {
      const found = await CREATE_PLUGIN_TASKS.rows<TaskView & { organization_id: number; inserted: boolean }>(this.db, [
        JSON.stringify(missing),
      ]);
      for (const { inserted, organization_id, ...task } of found) {
        byKey.set(key(organization_id, task.data.plugin_id, task.data.input_data), { task, inserted });
      }
      // A conflicting task that ended in between is neither inserted nor found: try those again.
      missing = missing.filter((t) => !byKey.has(key(t.organization_id, t.plugin_id, t.input_data)));
    }
    const seen = new Set<string>();
    return rows.map((row) => {
      const k = key(row.organization_id, row.plugin_id, row.input_data);
      const { task, inserted } = byKey.get(k)!;
      const first = !seen.has(k);
      seen.add(k);
      return { task, created: inserted && first };
    });
  }

  /** The tasks chained from a task (follow-ups, normalizers), oldest first: task_parent. */
  children(id: string, scope: TenantScope, limit: number): Promise<TaskView[]> {
    return this.db.query(
      `SELECT ${VIEW_COLUMNS} FROM task t JOIN organization o ON o.id = t.organization_id
       WHERE t.parent_task_id = $1 AND ($2::int IS NULL OR t.organization_id = $2)
       ORDER BY t.created_at, t.id LIMIT $3`,
      [id, scope.organizationId, limit],
    );
  }

  async findById(id: string, scope: TenantScope): Promise<TaskView | null> {
    const rows: TaskView[] = await this.db.query(
      `SELECT ${VIEW_COLUMNS} FROM task t JOIN organization o ON o.id = t.organization_id
       WHERE t.id = $1 AND ($2::int IS NULL OR t.organization_id = $2)`,
      [id, scope.organizationId],
    );
    return rows[0] ?? null;
  }

  /**
   * Newest first, keyset-paginated on (created_at, id): served by task_org_created /
   * task_org_status_created. `next` is where the following page starts, null on the last page.
   * `count`: how many tasks match the filters (whatever the cursor), exact up to `countUpTo` (0: not counted). One
   * statement for both: a list is the API's most frequent request, and a second statement cost a
   * second round trip, parse and plan on every one.
   */
  async list(
    scope: TenantScope,
    filters: TaskFilters,
    limit: number,
    after?: TaskCursor,
    countUpTo = 0,
  ): Promise<{ tasks: TaskView[]; next: TaskCursor | null; count: number }> {
    const { where, params } = taskFilterSql(scope, filters);
    const matching = where.length ? 'WHERE ' + where.join(' AND ') : '';
    const onPage = [...where];
    if (after) {
      params.push(after.created_at, after.id);
      onPage.push(`(t.created_at, t.id) < ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    params.push(limit + 1, countUpTo);
    // The position as stored: tasks made by one statement share created_at to the microsecond.
    // The count's one row is joined to the page, so an empty page still carries it.
    const rows: Array<TaskView & { position: string | null; matches: number }> = await this.db.query(
      `WITH page AS (
         SELECT ${VIEW_COLUMNS},
           to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position
         FROM task t JOIN organization o ON o.id = t.organization_id
         ${onPage.length ? 'WHERE ' + onPage.join(' AND ') : ''}
         ORDER BY t.created_at DESC, t.id DESC LIMIT $${params.length - 1})
       SELECT page.*, matches.n AS matches
       FROM (SELECT count(*)::int AS n FROM (SELECT 1 FROM task t ${matching} LIMIT $${params.length}) m) matches
       LEFT JOIN page ON true
       ORDER BY page.created_at DESC, page.id DESC`,
      params,
    );
    const found = rows.filter((row) => row.position !== null);
    const tasks = found.slice(0, limit).map(({ position: _position, matches: _matches, ...task }) => task);
    const last = found[limit - 1];
    return {
      tasks,
      next: found.length > limit ? { created_at: last.position!, id: last.id } : null,
      count: rows[0].matches,
    };
  }

  /** How many tasks match, counting no further than `cap` (an index-only scan of at most cap rows). */
  async count(scope: TenantScope, filters: TaskFilters, cap: number): Promise<number> {
    const { where, params } = taskFilterSql(scope, filters);
    params.push(cap);
    const rows = await this.db.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM task t ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       LIMIT $${params.length}) matches`,
      params,
    );
    return rows[0].n;
  }

  /**
   * PENDING → RUNNING for one worker; null when the task is not PENDING (taken, cancelled, done)
   * or not admitted (a stale job of a task that went back to the waiting line must not pass it).
   * A keyed task's start is recorded for its rate limit. Claims made at the same time by a
   * worker's jobs share one statement and one commit.
   */
  claim(id: string): Promise<ClaimedTask | null> {
    return this.claims.submit(id);
  }

  private async claimMany(ids: string[]): Promise<Array<ClaimedTask | null>> {
    const rows = await CLAIM.rows<Omit<ClaimedTask, 'input_objects'> & { input_objects: StoredInput[] }>(this.db, [
      // Sorted: rows are locked in one order by every claimer, so two batches cannot deadlock.
      [...new Set(ids)].sort(),
    ]);
    const claimed = new Map<string, ClaimedTask>(
      rows.map((row) => [row.id, { ...row, input_objects: row.input_objects.map(toStored) }]),
    );
    // A task asked for twice in one batch (a stalled job and its re-queued copy) goes to the first caller only.
    return ids.map((id) => {
      const claim = claimed.get(id) ?? null;
      claimed.delete(id);
      return claim;
    });
  }

  /**
   * Refreshes the heartbeats of a worker's runs in one statement; returns the runs whose attempt
   * no longer holds its task (cancelled, handed back, taken over). A row another statement is
   * writing (its ending, a claim, a recovery) is skipped rather than waited for: it beats at the
   * next interval, and its writer's row locks, taken in another order, cannot deadlock with these.
   */
  async heartbeat(runs: TaskRun[]): Promise<TaskRun[]> {
    if (runs.length === 0) return [];
    return this.db.query(
      `WITH run AS (SELECT * FROM unnest($1::uuid[], $2::int[]) AS r(id, attempt)),
       beat AS (
         UPDATE task SET heartbeat_at = now() FROM (
           SELECT t.id FROM task t JOIN run ON run.id = t.id
           WHERE t.status = 'RUNNING' AND t.attempts = run.attempt
           FOR NO KEY UPDATE OF t SKIP LOCKED) held
         WHERE task.id = held.id)
       SELECT run.id, run.attempt FROM run WHERE NOT EXISTS (
         SELECT 1 FROM task t WHERE t.id = run.id AND t.status = 'RUNNING' AND t.attempts = run.attempt)`,
      [runs.map((r) => r.id), runs.map((r) => r.attempt)],
    );
  }

  /**
   * RUNNING → COMPLETED or FAILED for the attempt that ran it, with its log; null if the attempt
   * no longer owns the task. Endings at the same time share one statement and one durable commit.
   */
  finish(ending: TaskEnding): Promise<EndedTask | null> {
    return this.endings.submit(ending);
  }

  private async finishMany(endings: TaskEnding[]): Promise<Array<EndedTask | null>> {
    const sent = new Map<string, TaskEnding>();
    for (const e of endings) if (!sent.has(`${e.id}:${e.attempt}`)) sent.set(`${e.id}:${e.attempt}`, e);
    const rows = await FINISH.rows<{ id: string; attempts: number } & EndedTask>(this.db, [
      // An attempt ends once: a repeated (task, attempt) is not sent (its log row would make the
      // ON CONFLICT fail the whole statement) and learns it lost. A stale attempt's ending may
      // share the batch with the current one's: only the current one matches the row.
      JSON.stringify([...sent.values()].map((e) => ({ ...e, log: e.log ?? null }))),
    ]);
    const ended = new Map(
      rows.map((row) => [`${row.id}:${row.attempts}`, { status: row.status, has_outputs: row.has_outputs }]),
    );
    return endings.map((e) =>
      sent.get(`${e.id}:${e.attempt}`) === e ? (ended.get(`${e.id}:${e.attempt}`) ?? null) : null,
    );
  }

  /**
   * RUNNING → PENDING for a worker that stops before the task ends, so another worker runs it
   * (a plugin task back in the waiting line, where its age puts it first among its organization's).
   */
  async handBack(id: string, attempt: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE task SET status = 'PENDING', started_at = NULL, heartbeat_at = NULL, admitted_at = ${ADMITTED_AT_ONCE}
       WHERE id = $1 AND status = 'RUNNING' AND attempts = $2 RETURNING id`,
      [id, attempt],
    );
    return rows[0].length > 0;
  }

  /** PENDING or RUNNING → CANCELLED; null when no such active task is visible in the scope. */
  async cancel(id: string, scope: TenantScope): Promise<TaskView | null> {
    return this.transitionInScope(id, scope, CANCELLED, `status IN ('PENDING', 'RUNNING')`);
  }

  /** FAILED or CANCELLED → PENDING with the same id; attempts are kept and grow on the next claim. */
  async retry(id: string, scope: TenantScope): Promise<TaskView | null> {
    return this.transitionInScope(id, scope, RETRIED, `status IN ('FAILED', 'CANCELLED')`);
  }

  /**
   * Bulk retry: every FAILED or CANCELLED task matching the filters in the scope → PENDING, in one
   * statement. A plugin task is left as it is when its plugin and input have an active task, and
   * of several matching ones of the same plugin and input only the newest goes back (one may be active).
   */
  async retryMatching(scope: TenantScope, filters: TaskFilters): Promise<CreatedTask[]> {
    const { where, params } = taskFilterSql(scope, filters);
    return this.db.query(
      `WITH candidate AS (
         SELECT t.id, t.type AS kind, row_number() OVER (PARTITION BY t.organization_id, t.plugin_id, t.input_object
                                                 ORDER BY t.created_at DESC, t.id DESC) AS nth
         FROM task t
         WHERE ${[...where, `t.status IN ('FAILED', 'CANCELLED')`].join(' AND ')}
           AND NOT EXISTS (SELECT 1 FROM task active
                           WHERE t.type = 'plugin' AND active.organization_id = t.organization_id
                             AND active.plugin_id = t.plugin_id AND active.input_object = t.input_object
                             AND active.status IN ('PENDING', 'RUNNING'))),
       retried AS (
         UPDATE task SET ${RETRIED}
         FROM candidate c
         WHERE task.id = c.id AND (c.kind <> 'plugin' OR c.nth = 1) AND task.status IN ('FAILED', 'CANCELLED')
         RETURNING task.id, task.type, task.attempts)
       SELECT * FROM retried`,
      params,
    );
  }

  /** Bulk cancel: every PENDING or RUNNING task matching the filters in the scope, in one statement; how many. */
  async cancelMatching(scope: TenantScope, filters: TaskFilters): Promise<number> {
    const { where, params } = taskFilterSql(scope, filters);
    // Counted in a CTE: TypeORM hands a bare UPDATE's result back as [rows, count].
    const rows: Array<{ n: number }> = await this.db.query(
      `WITH cancelled AS (
         UPDATE task t SET ${CANCELLED} WHERE ${[...where, `t.status IN ('PENDING', 'RUNNING')`].join(' AND ')}
         RETURNING t.id)
       SELECT count(*)::int AS n FROM cancelled`,
      params,
    );
    return rows[0].n;
  }

  /**
   * Retention: deletes up to `batch` of the oldest tasks of `status` that ended more than `days`
   * ago, their logs and output files with them (ObjectTasks, findings and reports stay, without
   * the task); how many. Rows being written are skipped. Served by task_ended.
   * The newest COMPLETED plugin task of each plugin and input is kept, however old: business rules
   * judge an object by it ("was it scanned by dns_records?"), and so do a schedule's intervals.
   */
  async pruneEnded(status: TaskStatus, days: number, batch: number): Promise<number> {
    const rows: Array<{ n: number }> = await this.db.query(
      `WITH doomed AS (
         SELECT id FROM task t
         WHERE status = $1 AND ended_at IS NOT NULL AND ended_at < now() - make_interval(days => $2)
           AND (status <> 'COMPLETED' OR type <> 'plugin' OR EXISTS (
             SELECT 1 FROM task newer  -- task_completed_plugin_input
             WHERE newer.organization_id = t.organization_id AND newer.plugin_id = t.plugin_id
               AND newer.input_object = t.input_object AND newer.status = 'COMPLETED'
               AND (newer.created_at, newer.id) > (t.created_at, t.id)))
         ORDER BY ended_at LIMIT $3 FOR UPDATE SKIP LOCKED),
       gone AS (DELETE FROM task t USING doomed d WHERE t.id = d.id RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [status, days, batch],
    );
    return rows[0].n;
  }

  /** "Run task": a PENDING task admitted now, past its turn, its back-off and its rate limit; null if none. */
  async admitNow(id: string, scope: TenantScope): Promise<TaskView | null> {
    return this.transitionInScope(
      id,
      scope,
      `admitted_at = coalesce(admitted_at, now()), run_after = NULL`,
      `status = 'PENDING'`,
    );
  }

  private async transitionInScope(id: string, scope: TenantScope, set: string, from: string): Promise<TaskView | null> {
    const rows: TaskView[] = await this.db.query(
      `WITH t AS (
         UPDATE task SET ${set}
         WHERE id = $1 AND ($2::int IS NULL OR organization_id = $2) AND ${from} RETURNING *)
       SELECT ${VIEW_COLUMNS} FROM t JOIN organization o ON o.id = t.organization_id`,
      [id, scope.organizationId],
    );
    return rows[0] ?? null;
  }

  /**
   * RUNNING tasks whose worker stopped heartbeating go back to PENDING, or to FAILED once they have
   * used `maxAttempts` claims (not counting the plugin's own failures, which its retry policy
   * bounds). One statement for all of them (served by task_running).
   */
  async recoverStale(
    staleSeconds: number,
    maxAttempts: number,
  ): Promise<Array<{ id: string; type: TaskType; status: TaskStatus; attempts: number }>> {
    const usedUp = `attempts - coalesce(jsonb_array_length(data->'errors'), 0) >= $2`;
    const rows = await this.db.query(
      `UPDATE task SET
         status = CASE WHEN ${usedUp} THEN 'FAILED' ELSE 'PENDING' END,
         ended_at = CASE WHEN ${usedUp} THEN now() END,
         started_at = CASE WHEN ${usedUp} THEN started_at END,
         admitted_at = CASE WHEN ${usedUp} THEN admitted_at ELSE ${ADMITTED_AT_ONCE} END,
         heartbeat_at = NULL,
         data = CASE WHEN ${usedUp} THEN data || jsonb_build_object(
           'error', format('worker stopped responding during each of %s attempts', attempts),
           'traceback', format('last heartbeat at %s; no worker finished the task', heartbeat_at))
           ELSE data END
       WHERE status = 'RUNNING' AND heartbeat_at < now() - make_interval(secs => $1)
       RETURNING id, type, status, attempts`,
      [staleSeconds, maxAttempts],
    );
    return rows[0];
  }

  /**
   * One page of PENDING tasks admitted to the queue over `olderThanSeconds` ago and not yet claimed,
   * oldest first (served by task_admitted): those a lost job could leave stranded.
   */
  async admittedPage(
    olderThanSeconds: number,
    after: AdmittedCursor | null,
    limit: number,
  ): Promise<Array<AdmittedCursor & { type: TaskType; attempts: number }>> {
    return this.db.query(
      `SELECT id, type, attempts, admitted_at FROM task
       WHERE status = 'PENDING' AND admitted_at IS NOT NULL AND admitted_at < now() - make_interval(secs => $1)
         AND ($2::timestamptz IS NULL OR (admitted_at, id) > ($2, $3::uuid))
       ORDER BY admitted_at, id LIMIT $4`,
      [olderThanSeconds, after?.admitted_at ?? null, after?.id ?? null, limit],
    );
  }

  /**
   * A PENDING task for each member of the schedule's set that has no task of the plugin created
   * within the interval (any status counts: a failed scan is a scan, as in OpenKAT), or, with
   * `ignoreInterval`, no active one; one statement. Nothing for a disabled plugin, nor for a
   * disabled schedule unless `includeDisabled` (a user's "run now").
   */
  createScheduledTasks(scheduleId: string, options: ScheduledTaskOptions = {}): Promise<CreatedTask[]> {
    return insertScheduledTasks(this.db, scheduleId, options);
  }

  /**
   * Chaining: for a completed plugin task, the tasks of every enabled schedule of its organization
   * whose plugin consumes an object the task produced and whose set contains it, with the task as parent.
   */
  createFollowUpTasks(parentTaskId: string): Promise<CreatedTask[]> {
    return insertFollowUpTasks(this.db, parentTaskId);
  }

  /** A business_rule task for all rules in each organization that has none PENDING or RUNNING. */
  async createRuleTasksForEveryOrganization(): Promise<Array<{ id: string; type: TaskType; attempts: number }>> {
    return this.db.query(
      `INSERT INTO task (organization_id, type, data, admitted_at)
       SELECT o.id, 'business_rule', '{"rule_id": "all"}'::jsonb, now() FROM organization o
       WHERE NOT EXISTS (SELECT 1 FROM task t WHERE t.organization_id = o.id AND t.type = 'business_rule'
                         AND t.status IN ('PENDING', 'RUNNING') AND t.data->>'rule_id' = 'all')
       RETURNING id, type, attempts`,
    );
  }

  /**
   * After a plugin's rate_limit.key changed: the tasks still waiting for admission get the new key,
   * resolved from their input's key fields as at creation. One read and one UPDATE.
   */
  async rekeyWaiting(plugin: Pick<Plugin, 'plugin_id' | 'consumes' | 'rate_limit'>): Promise<number> {
    const waiting: Array<{ id: string; input_object: string }> = await this.db.query(
      `SELECT id, input_object FROM task
       WHERE plugin_id = $1 AND status = 'PENDING' AND admitted_at IS NULL AND type = 'plugin'`,
      [plugin.plugin_id],
    );
    const keyed = waiting.map((t) => {
      const parsed = parseObjectKey(t.input_object, plugin.consumes);
      return { id: t.id, fields: 'fields' in parsed ? parsed.fields : {} };
    });
    const [, updated] = await this.db.query(
      `UPDATE task t SET rate_key = kat_rate_key($2, k.fields)
       FROM jsonb_to_recordset($1::jsonb) AS k(id uuid, fields jsonb)
       WHERE t.id = k.id AND t.status = 'PENDING' AND t.admitted_at IS NULL`,
      [JSON.stringify(keyed), plugin.rate_limit?.key ?? null],
    );
    return updated;
  }

  /** Status and attempt of each task (one statement for a whole list of containers). */
  async runStates(ids: string[]): Promise<Array<{ id: string; status: TaskStatus; attempts: number }>> {
    return this.db.query(`SELECT id, status, attempts FROM task WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /**
   * Keeps the log of a run that did not end the task (cancelled, handed back), but only while the
   * task is still at that run's attempt: a stalled run that wakes up after another worker took the
   * task over must not replace the newer attempt's log. False when nothing was written.
   */
  async saveLog(log: Omit<TaskLog, 'updated_at'>, attempt: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO task_log (task_id, stdout, stderr, stdout_truncated, stderr_truncated)
       SELECT id, $2, $3, $4, $5 FROM task WHERE id = $1 AND attempts = $6
       ON CONFLICT (task_id) DO UPDATE SET stdout = $2, stderr = $3, stdout_truncated = $4,
         stderr_truncated = $5, updated_at = now()
       RETURNING task_id`,
      [log.task_id, log.stdout, log.stderr, log.stdout_truncated, log.stderr_truncated, attempt],
    );
    return rows.length > 0;
  }

  /** Which of these tasks of the organization completed with an output file, and of which plugin. */
  outputFilesOf(organizationId: number, taskIds: string[]): Promise<Array<{ task_id: string; plugin_id: string }>> {
    return this.db.query(
      `SELECT t.id AS task_id, t.plugin_id FROM task t JOIN task_output f ON f.task_id = t.id
       WHERE t.id = ANY($2::uuid[]) AND t.organization_id = $1 AND t.status = 'COMPLETED'`,
      [organizationId, taskIds],
    );
  }

  async findLog(taskId: string): Promise<TaskLog | null> {
    const rows: TaskLog[] = await this.db.query(`SELECT * FROM task_log WHERE task_id = $1`, [taskId]);
    return rows[0] ?? null;
  }

  /**
   * What a plugin token's request needs of its task: status and attempt (the token works only
   * while that attempt runs), plugin, input and organization code; null when the organization has
   * no such task. Per plugin-token request: served by task's primary key.
   */
  async pluginTokenHolder(taskId: string, organizationId: number): Promise<PluginTokenHolder | null> {
    const rows: PluginTokenHolder[] = await this.db.query(
      `SELECT t.status, t.attempts, t.plugin_id, t.input_object, o.code AS organization_code FROM task t
       JOIN organization o ON o.id = t.organization_id WHERE t.id = $1 AND t.organization_id = $2`,
      [taskId, organizationId],
    );
    return rows[0] ?? null;
  }

  /** How many tasks there are of each (status, type), in every organization: a scan of task per metrics scrape. */
  async countsByStatusAndType(): Promise<Array<{ status: TaskStatus; type: TaskType; n: number }>> {
    return this.db.query(`SELECT status, type, count(*)::int AS n FROM task GROUP BY 1, 2`);
  }
}

/** The task behind a plugin token, as the API's guard checks it. */
export interface PluginTokenHolder {
  status: TaskStatus;
  attempts: number;
  plugin_id: string;
  input_object: string;
  organization_code: string;
}
