import { DataSource, EntityManager } from 'typeorm';
import { ObjectSet } from '../object-sets/object-set.entity';
import { membershipSql } from '../object-sets/object-set.repository';
import { TASK_PRIORITY } from './task-admission.repository';
import { TaskType } from './task-state';

/*
 * The statements that create a schedule's tasks, set-based: one per schedule per tick, never one
 * per object (TaskRepository.createScheduledTasks and createFollowUpTasks call them). Served by
 * object's primary key (a set's members) and task_org_input (an object's recent tasks).
 */

/** A task just created by a schedule, enough to queue it. */
export interface CreatedTask {
  id: string;
  type: TaskType;
  attempts: number;
}

/**
 * The object `o` has no task of the plugin created within the interval, nor an active one.
 * Parameters: $1 organization, $3 plugin, $5 interval seconds (the inserts add $6 priority and $7 the
 * plugin's rate key template). A tick runs it with nested loops off: a hash (or merge) anti join
 * reads the plugin's tasks once, before the INSERT adds any, where a nested loop can rescan the
 * rows the same INSERT is adding (119 s for a first tick of 100,000). Chaining keeps nested
 * loops: its few outputs are best probed one by one.
 */
const NOT_RECENTLY_SCANNED = `NOT EXISTS (
  SELECT 1 FROM task recent
  WHERE recent.organization_id = $1 AND recent.plugin_id = $3 AND recent.input_object = o.primary_key
    AND (recent.created_at > now() - make_interval(secs => $5) OR recent.status IN ('PENDING', 'RUNNING')))`;

/**
 * Runs a task INSERT … SELECT that already leaves out objects with an active task. Only a task
 * created at the same moment elsewhere (the API, a chained task) can still collide with
 * task_one_active_plugin_task: then the insert is repeated with ON CONFLICT DO NOTHING. The fast
 * path saves ON CONFLICT's speculative insertion on every row (a quarter of a first tick's time).
 */
async function insertTasks(tx: EntityManager, insert: string, params: unknown[]): Promise<CreatedTask[]> {
  await tx.query('SAVEPOINT insert_tasks');
  try {
    return await tx.query(`${insert} RETURNING id, type, attempts`, params);
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await tx.query('ROLLBACK TO SAVEPOINT insert_tasks');
    return tx.query(
      `${insert} ON CONFLICT (organization_id, plugin_id, input_object)
         WHERE type = 'plugin' AND status IN ('PENDING', 'RUNNING') DO NOTHING
       RETURNING id, type, attempts`,
      params,
    );
  }
}

/**
 * A steady tick looks back this far before the schedule's last tick for what changed: a row written
 * by a transaction that began earlier but committed after that tick's snapshot carries an earlier
 * time (now() is a transaction's start). Longer transactions are caught by the next full sweep.
 */
const LOOKBACK_SECONDS = 60;
/** A full sweep at least this often, whatever changed: the bound on anything the look-back missed. */
const FULL_SWEEP_SECONDS = 3600;

/**
 * Above this many objects to look at, a steady tick sweeps fully instead: its probes, one per
 * object, cost more than one pass over the set (a tick right after a bulk import of objects).
 */
const MAX_STEADY_CANDIDATES = 20_000;

/**
 * The only objects a steady tick can find due, given that the schedule's last tick (at `since`)
 * created a task for every member then due: those whose last scan's interval ran out since (a
 * task of the plugin created in the window that ends an interval ago), those a task of the plugin
 * kept from being due until it ended since, and those created or changed since (new members, or
 * members now by their data). Served by task_org_plugin_created, task_org_plugin_ended and
 * object_changed: a tick reads what happened since the last one, not the whole set.
 * The arguments are the placeholders of the organization, object type, plugin, interval and since.
 */
function changedSinceLastTick(organization: string, type: string, plugin: string, interval: string, since: string) {
  return `
  SELECT t.input_object FROM task t
  WHERE t.organization_id = ${organization} AND t.plugin_id = ${plugin}
    AND t.created_at > ${since}::timestamptz - make_interval(secs => ${interval} + ${LOOKBACK_SECONDS})
    AND t.created_at <= now() - make_interval(secs => ${interval})
  UNION ALL
  SELECT t.input_object FROM task t
  WHERE t.organization_id = ${organization} AND t.plugin_id = ${plugin}
    AND t.ended_at > ${since}::timestamptz - make_interval(secs => ${LOOKBACK_SECONDS})
  UNION ALL
  SELECT changed.primary_key FROM object changed
  WHERE changed.organization_id = ${organization} AND changed.object_type = ${type}
    AND changed.changed_at > ${since}::timestamptz - make_interval(secs => ${LOOKBACK_SECONDS})`;
}

/**
 * Whether a steady tick has at most MAX_STEADY_CANDIDATES objects to look at (an index scan that
 * stops there). `params`: organization, object type, plugin, interval, since.
 */
async function fewCandidates(tx: EntityManager, params: unknown[]): Promise<boolean> {
  const [{ n }] = await tx.query(
    `SELECT count(*)::int AS n FROM (${changedSinceLastTick('$1', '$2', '$3', '$4', '$5')}
     LIMIT ${MAX_STEADY_CANDIDATES + 1}) candidate`,
    params,
  );
  return n <= MAX_STEADY_CANDIDATES;
}

/** How a tick creates a schedule's tasks. */
export interface ScheduledTaskOptions {
  /** Every member without an active task, whatever its last scan (a user's "run now"). */
  ignoreInterval?: boolean;
  /** A disabled schedule too (a user's "run now"). */
  includeDisabled?: boolean;
  /** 'full' reads every member even when a steady tick would do. */
  sweep?: 'full' | 'auto';
  /**
   * A full sweep's members split by a hash of their key into this many parts, each inserted by its
   * own connection at the same time (1: one statement). Checking and indexing each new task is
   * PostgreSQL's work on one core per statement: a first tick of 100,000 objects took 2.5 s as one.
   */
  sweepParts?: number;
}

/**
 * Creates a PENDING task for each member of the schedule's set that has no task of the plugin
 * created within the interval (any status counts: a failed scan is a scan, as in OpenKAT), or,
 * with `ignoreInterval`, no active one. Nothing for a disabled plugin, nor for a disabled
 * schedule unless `includeDisabled` (a user's "run now").
 * A full sweep reads every member; a steady tick, after one, only what changed since the last
 * tick (changedSinceLastTick) and creates the same tasks. `sweep: 'full'` forces a full one.
 *
 * A full sweep in parts (sweepParts > 1) runs outside the transaction that claims the schedule:
 * each part in a transaction of its own, none of them waiting on another (their objects differ),
 * so no transaction of ours ever waits in this process for another while it holds locks, which
 * PostgreSQL could not see as a deadlock. The sweep is recorded (swept_at, full_swept_at at the
 * time the tick began, as ISO 8601 whatever the session's DateStyle) only once every part has
 * committed, and only if what the schedule scans did not change meanwhile (`resweeps`, counted by
 * the triggers that clear swept_at): a part that fails leaves the schedule due for
 * another full sweep, which creates the rest (the parts that committed are tasks of due objects).
 */
export async function insertScheduledTasks(
  db: DataSource,
  scheduleId: string,
  options: ScheduledTaskOptions = {},
): Promise<CreatedTask[]> {
  const parts = sweepParts(db, options.sweepParts);
  const tick = await db.transaction(async (tx): Promise<TickStart> => {
    const full = `($3 OR previous.swept_at IS NULL OR previous.full_swept_at IS NULL
                  OR previous.full_swept_at < now() - make_interval(secs => ${FULL_SWEEP_SECONDS}))`;
    const inParts = `(${full} AND $4::int > 1)`;
    const [schedule] = await tx
      .query(
        `UPDATE schedule s SET last_run_at = now(),
           swept_at = CASE WHEN ${inParts} THEN s.swept_at ELSE now() END,
           full_swept_at = CASE WHEN ${inParts} THEN s.full_swept_at WHEN ${full} THEN now() ELSE s.full_swept_at END
         FROM plugin p, object_set os, (SELECT swept_at, full_swept_at FROM schedule WHERE id = $1) previous
         WHERE s.id = $1 AND (s.enabled OR $2) AND p.plugin_id = s.plugin_id AND p.enabled AND os.id = s.object_set_id
           AND os.object_type = ANY(p.consumes)
         RETURNING s.id, s.organization_id, s.plugin_id, s.interval_seconds, os.object_type, os.query, os.object_ids,
           coalesce(s.priority, ${TASK_PRIORITY.tick}) AS priority, p.rate_limit->>'key' AS rate_key_template,
           CASE WHEN ${full} THEN NULL ELSE previous.swept_at END AS since, ${inParts} AS in_parts,
           to_json(now()) #>> '{}' AS began_at, s.resweeps`,
        [scheduleId, options.includeDisabled ?? false, options.ignoreInterval || options.sweep === 'full', parts],
      )
      .then(
        ([rows]: [unknown[]]) =>
          rows as Array<
            {
              id: string;
              organization_id: number;
              plugin_id: string;
              interval_seconds: number;
              priority: number;
              rate_key_template: string | null;
              since: Date | null;
              in_parts: boolean;
              began_at: string;
              resweeps: string;
            } & ObjectSet
          >,
      );
    if (!schedule) return { created: [] };
    const interval = options.ignoreInterval ? 0 : schedule.interval_seconds;
    const steady =
      schedule.since !== null &&
      (await fewCandidates(tx, [
        schedule.organization_id,
        schedule.object_type,
        schedule.plugin_id,
        interval,
        schedule.since,
      ]));
    const params: unknown[] = [
      schedule.organization_id,
      schedule.object_type,
      schedule.plugin_id,
      schedule.id,
      interval,
      schedule.priority,
      schedule.rate_key_template,
      steady ? schedule.since : null,
    ];
    const members = membershipSql(schedule, params);
    const insert = (where: string) =>
      `INSERT INTO task (organization_id, type, data, schedule_id, priority, rate_key)
         SELECT $1, 'plugin', jsonb_build_object('plugin_id', $3::text, 'input_data', o.primary_key), $4, $6::smallint,
                kat_rate_key($7::text, o.data)
         FROM object o
         WHERE o.organization_id = $1 AND o.object_type = $2 AND ${where} AND ${members} AND ${NOT_RECENTLY_SCANNED}`;
    if (steady) {
      const changed = `o.primary_key IN (${changedSinceLastTick('$1', '$2', '$3', '$5', '$8')})`;
      return { created: await insertTasks(tx, insert(changed), params) };
    }
    if (!schedule.in_parts) return { created: await sweepPart(tx, insert, [...params, 1, 0]) };
    return { inParts: { insert, params, began: schedule.began_at, resweeps: schedule.resweeps } };
  });
  if ('created' in tick) return tick.created;

  const { insert, params, began, resweeps } = tick.inParts;
  const settled = await Promise.allSettled(
    Array.from({ length: parts }, (_, k) => db.transaction((own) => sweepPart(own, insert, [...params, parts, k]))),
  );
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  await db.query(
    `UPDATE schedule SET swept_at = $2::timestamptz, full_swept_at = $2::timestamptz
     WHERE id = $1 AND resweeps = $3::bigint`,
    [scheduleId, began, resweeps],
  );
  return settled.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
}

/** What the schedule's transaction leaves: the tasks it created, or a full sweep to run in parts. */
type TickStart =
  | { created: CreatedTask[] }
  | { inParts: { insert: (where: string) => string; params: unknown[]; began: string; resweeps: string } };

/**
 * One part of a full sweep: the members whose key hashes to part `k` of `parts` (the last two
 * parameters). No nested loop (see NOT_RECENTLY_SCANNED), and room for the hash of a million recent
 * tasks' inputs in memory: at the default 4 MB it spilled to 16 batches on disk.
 */
async function sweepPart(tx: EntityManager, insert: (where: string) => string, params: unknown[]) {
  await tx.query("SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'");
  const inPart = `(hashtext(o.primary_key) & 2147483647) % $${params.length - 1}::int = $${params.length}::int`;
  // $8, a steady tick's `since`, is null here; named anyway, as every parameter must be typed.
  return insertTasks(tx, insert(`$8::timestamptz IS NULL AND ${inPart}`), params);
}

/**
 * The parts a full sweep may use: one connection of the pool each, beside the scheduler's job lock
 * (JobRunner holds one) and one left for a job running beside it.
 */
function sweepParts(db: DataSource, wanted = 1): number {
  const pool = (db.options.extra as { max?: number } | undefined)?.max ?? 10;
  return Math.max(1, Math.min(wanted, pool - 2));
}

/**
 * Normalizers: for a completed task with an output file, a task of every enabled plugin that
 * consumes `file:<its plugin>`, with the file's task as input and parent, whatever the schedules.
 * An active normalizer task of the same file is kept (a repeated chain creates none).
 */
function insertNormalizerTasks(db: DataSource, rawTaskId: string): Promise<CreatedTask[]> {
  return db.query(
    `INSERT INTO task (organization_id, type, data, parent_task_id, priority, rate_key)
     SELECT raw.organization_id, 'plugin', jsonb_build_object('plugin_id', n.plugin_id, 'input_data', raw.id::text),
            raw.id, $2::smallint, kat_rate_key(n.rate_limit->>'key', jsonb_build_object('task_id', raw.id))
     FROM task raw
     JOIN task_output f ON f.task_id = raw.id
     JOIN plugin n ON n.enabled AND n.consumes = ARRAY['file:' || raw.plugin_id]
     WHERE raw.id = $1
     ON CONFLICT (organization_id, plugin_id, input_object) WHERE type = 'plugin' AND status IN ('PENDING', 'RUNNING')
     DO NOTHING
     RETURNING id, type, attempts`,
    [rawTaskId, TASK_PRIORITY.follow_up],
  );
}

/**
 * Chaining: for a completed plugin task, the follow-up tasks of every enabled schedule of its
 * organization whose plugin consumes the type of an object the task produced and whose set
 * contains it, with the task as their parent. Same rules as a tick.
 */
export async function insertFollowUpTasks(db: DataSource, parentTaskId: string): Promise<CreatedTask[]> {
  const normalizers = await insertNormalizerTasks(db, parentTaskId);
  const schedules: Array<
    {
      id: string;
      organization_id: number;
      plugin_id: string;
      interval_seconds: number;
      rate_key_template: string | null;
    } & ObjectSet
  > = await db.query(
    `SELECT DISTINCT s.id, s.organization_id, s.plugin_id, s.interval_seconds, os.object_type, os.query, os.object_ids,
       p.rate_limit->>'key' AS rate_key_template
       FROM task parent
       JOIN schedule s ON s.organization_id = parent.organization_id AND s.enabled
       JOIN plugin p ON p.plugin_id = s.plugin_id AND p.enabled
       JOIN object_set os ON os.id = s.object_set_id AND os.object_type = ANY(p.consumes)
       WHERE parent.id = $1
         AND EXISTS (SELECT 1 FROM object_task ot WHERE ot.task_id = parent.id AND ot.output_type = os.object_type)`,
    [parentTaskId],
  );
  const created: CreatedTask[] = [];
  for (const schedule of schedules) {
    const params: unknown[] = [
      schedule.organization_id,
      schedule.object_type,
      schedule.plugin_id,
      schedule.id,
      schedule.interval_seconds,
      TASK_PRIORITY.follow_up,
      schedule.rate_key_template,
      parentTaskId,
    ];
    const members = membershipSql(schedule, params);
    created.push(
      ...(await db.transaction((tx) =>
        insertTasks(
          tx,
          `INSERT INTO task (organization_id, type, data, schedule_id, parent_task_id, priority, rate_key)
         SELECT $1, 'plugin', jsonb_build_object('plugin_id', $3::text, 'input_data', o.primary_key), $4, $8,
                $6::smallint, kat_rate_key($7::text, o.data)
         FROM object_task ot
         JOIN object o ON o.organization_id = $1 AND o.object_type = ot.output_type AND o.primary_key = ot.output_object
         WHERE ot.task_id = $8 AND ot.output_type = $2 AND ${members}
           AND ${NOT_RECENTLY_SCANNED}`,
          params,
        ),
      )),
    );
  }
  return [...normalizers, ...created];
}
